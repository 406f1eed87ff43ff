/**
 * The soak's CI version (bench/soak/run.ts is the long one): a few projects' users make mixed load (volumes,
 * uploads, snapshots, backups full and incremental, restores, CBR vaults, policies, checkpoints, deletes) while the
 * server is SIGKILLed three times a few seconds apart and restarted on the same data directory; then every end
 * check of the soak must pass. The report is printed as the test's diagnostics.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DEFAULTS, Soak } from '../../../../../bench/soak/soak.js';

let dataDir = '';
let soak: Soak | undefined;
after(async () => {
  await soak?.shutdown();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test(
  'after three SIGKILLs under mixed load from several projects nothing is stuck, lost, leaked or miscounted',
  { timeout: 600_000 },
  async (t) => {
    dataDir = await mkdtemp(join(tmpdir(), 'cinderbox-soak-'));
    const lines: string[] = [];
    soak = new Soak({
      ...DEFAULTS,
      dataDir,
      driver: 'raw',
      durationMs: 30_000,
      killEveryMs: [4_000, 8_000],
      maxKills: 3,
      projects: 2,
      usersPerProject: 2,
      uploadBytes: 5 * 1024 * 1024,
      fullCompare: false,
      opTimeoutMs: 60_000,
      settleTimeoutMs: 60_000,
      log: (line) => lines.push(line),
    });
    const report = await soak.run();
    for (const line of [...lines, ...report.text.split('\n')]) t.diagnostic(line);
    assert.equal(report.kills, 3, 'the load lasted long enough for three kills');
    const failed = report.checks.filter((c) => !c.ok);
    assert.deepEqual(
      failed.map((c) => `${c.name}: ${c.detail.join('; ')}`),
      [],
      'every end check passes',
    );
  },
);
