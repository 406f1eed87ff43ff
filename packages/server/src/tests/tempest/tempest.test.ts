import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { qemuAvailability } from '../../config/volume-backends.js';
import { startTestServer } from '../../test-support/harness.js';
import { describe, missingTools, PYTHON, run, TEMPEST } from '../clients/test-support/support.js';
import { featuresFromEnv, provisionAccounts, writeWorkspaceConfig } from './test-support/workspace.js';

const here = dirname(fileURLToPath(import.meta.url));
const CONCURRENCY = 2;
/** Tempest's block-storage API tests; CINDERBOX_TEMPEST_REGEX narrows it when iterating on one area. */
const REGEX = process.env.CINDERBOX_TEMPEST_REGEX ?? '^tempest\\.api\\.volume\\.';
const RUN_TIMEOUT_MS = 15 * 60_000;

interface Outcome {
  status: string;
  reason: string;
}

async function readExpected(): Promise<string[]> {
  const text = await readFile(join(here, 'expected-pass.txt'), 'utf8');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function excerpt(reason: string, lines = 25): string {
  const all = reason.trimEnd().split('\n');
  return all.length <= lines ? all.join('\n') : ['…', ...all.slice(-lines)].join('\n');
}

// Tempest 33's volume API tests against a fresh server: every test listed in expected-pass.txt must pass.
test('Tempest volume API tests pass as expected', async (t) => {
  const why = await missingTools([TEMPEST, '/usr/bin/stestr'], ['tempest', 'subunit', 'testtools', 'stestr']);
  if (why) {
    t.skip(why);
    return;
  }
  const selected = new RegExp(REGEX);
  const expected = (await readExpected()).filter((id) => selected.test(id));
  const root = await mkdtemp(join(tmpdir(), 'cinderbox-tempest-'));
  // With qcow2 available the server has two backends (qcow2 first, the default's choice, then raw), so the
  // multi-backend and retype-with-migration tests run.
  const backends = qemuAvailability().available
    ? [
        { name: 'qcow2', driver: 'qcow2' as const, pool: 'qcow2' },
        { name: 'raw', driver: 'raw' as const, pool: 'raw' },
      ]
    : null;
  const ts = await startTestServer(backends ? { backends } : {});
  try {
    const workspace = join(root, 'ws');
    const env = { HOME: root };
    const init = await run(TEMPEST, ['init', workspace], { env, cwd: root, timeoutMs: 60_000 });
    assert.equal(init.code, 0, describe(TEMPEST, ['init', workspace], init));
    const features = featuresFromEnv();
    t.diagnostic(`volume features: ${JSON.stringify(features)}`);
    await writeWorkspaceConfig(workspace, ts.url, await provisionAccounts(ts, CONCURRENCY), features, backends?.map((b) => b.name));

    const args = ['run', '--config-file', join(workspace, 'etc', 'tempest.conf'), '--regex', REGEX, '--concurrency', String(CONCURRENCY)];
    const r = await run(TEMPEST, args, { env, cwd: workspace, timeoutMs: RUN_TIMEOUT_MS });
    t.diagnostic(`tempest run took ${(r.ms / 1000).toFixed(0)} s (exit ${r.code})`);
    // tempest exits 1 when any test fails; that alone is expected (unserved features), a crash is not.
    const collected = await run(PYTHON, [join(here, 'collect_results.py'), workspace], { env, timeoutMs: 120_000 });
    assert.equal(collected.code, 0, describe(PYTHON, ['collect_results.py', workspace], collected));
    const results = JSON.parse(collected.stdout) as Record<string, Outcome>;
    const ids = Object.keys(results);
    assert.ok(ids.length > 0, `no results from tempest run\n${describe(TEMPEST, args, r)}`);

    const byStatus = new Map<string, number>();
    for (const o of Object.values(results)) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
    t.diagnostic(`results: ${[...byStatus].map(([s, n]) => `${s} ${n}`).join(', ')}`);

    const passed = ids.filter((id) => results[id]!.status === 'success').sort();
    if (process.env.CINDERBOX_TEMPEST_PASSES) await writeFile(process.env.CINDERBOX_TEMPEST_PASSES, `${passed.join('\n')}\n`);
    if (process.env.CINDERBOX_TEMPEST_RESULTS) await writeFile(process.env.CINDERBOX_TEMPEST_RESULTS, JSON.stringify(results, null, 1));

    // Whatever the test, a 5xx from the server is a server bug (bad input must be a 4xx): list them.
    const log = await readFile(join(workspace, 'logs', 'tempest.log'), 'utf8').catch(() => '');
    const serverErrors = [...log.matchAll(/Request \(([^)]*)\): (5\d\d) (\w+) (\S+)/g)].map((m) => `${m[2]} ${m[3]} ${m[4]} (${m[1]})`);
    if (serverErrors.length > 0) {
      t.diagnostic(`${serverErrors.length} server error response(s) during the run:`);
      for (const e of new Set(serverErrors)) t.diagnostic(`  ${e}`);
    }
    if (process.env.CINDERBOX_TEMPEST_LOG) await writeFile(process.env.CINDERBOX_TEMPEST_LOG, log);

    const newPasses = passed.filter((id) => !expected.includes(id));
    if (newPasses.length > 0) {
      t.diagnostic(`${newPasses.length} test(s) pass but are not in expected-pass.txt (consider adding them):`);
      for (const id of newPasses) t.diagnostic(`  ${id}`);
    }
    const regressions = expected.filter((id) => results[id]?.status !== 'success');
    const report = regressions.map((id) => {
      const o = results[id];
      if (!o) return `${id}: not run (not selected by ${REGEX}, or its class failed to set up)`;
      return `${id}: ${o.status}\n${excerpt(o.reason)}`;
    });
    const classFailures = ids.filter((id) => /^(setUpClass|tearDownClass) /.test(id) && results[id]!.status === 'fail');
    assert.deepEqual(
      regressions,
      [],
      `${regressions.length} expected test(s) did not pass:\n\n${report.join('\n\n')}\n\nclass-level failures: ${classFailures.join(', ') || 'none'}`,
    );
  } finally {
    await ts.close();
    await rm(root, { recursive: true, force: true });
  }
});
