/**
 * The long soak: mixed load from several projects against a server that is SIGKILLed and restarted every 1–3
 * minutes, then the end checks (see soak.ts). Not a CI test: its default runs ~30 minutes; the CI version is
 * packages/server/src/tests/crash/soak.test.ts (3 kills, a couple of minutes).
 *
 *   node --import tsx bench/soak/run.ts [--minutes 30] [--kill-every 60-180] [--kills N] [--projects 3]
 *     [--users 2] [--driver raw|qcow2] [--upload-mib 5] [--quick-compare] [--dir DIR] [--keep] [--seed N]
 *
 * --kill-every is in seconds (min-max); --quick-compare checks the written head and zero probes instead of every
 * byte; --dir keeps the data directory there (it must not exist yet) instead of a fresh one under /var/tmp.
 * Prints the operation counts by kind and outcome, the kills, and each check; exits 1 when a check failed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { probeQemuImg } from '../../packages/server/src/drivers/volume/qcow2/qemu.js';
import { DEFAULTS, Soak } from './soak.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    'kill-every': { type: 'string', default: '60-180' },
    kills: { type: 'string' },
    projects: { type: 'string', default: '3' },
    users: { type: 'string', default: '2' },
    driver: { type: 'string' },
    'upload-mib': { type: 'string', default: '5' },
    'quick-compare': { type: 'boolean', default: false },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    seed: { type: 'string' },
  },
});

const [lo, hi] = (args['kill-every'] as string).split('-').map(Number);
if (!(lo! > 0 && hi! >= lo!)) throw new Error('--kill-every: MIN-MAX seconds, e.g. 60-180');
const driver = (args.driver ?? (probeQemuImg().available ? 'qcow2' : 'raw')) as 'raw' | 'qcow2';
if (driver !== 'raw' && driver !== 'qcow2') throw new Error('--driver: raw or qcow2');
const dataDir = args.dir ?? (await mkdtemp('/var/tmp/cinderbox-soak-'));

const soak = new Soak({
  ...DEFAULTS,
  dataDir,
  driver,
  durationMs: Number(args.minutes) * 60_000,
  killEveryMs: [lo! * 1000, hi! * 1000],
  maxKills: args.kills ? Number(args.kills) : Infinity,
  projects: Number(args.projects),
  usersPerProject: Number(args.users),
  uploadBytes: Math.round(Number(args['upload-mib']) * 1024 * 1024),
  fullCompare: !args['quick-compare'],
  ...(args.seed ? { seed: Number(args.seed) } : {}),
  log: (line) => console.log(line),
});

let ok = false;
try {
  const report = await soak.run();
  console.log(report.text);
  ok = report.ok;
} finally {
  await soak.shutdown();
  if (!args.keep && ok) await rm(dataDir, { recursive: true, force: true });
  else console.log(`data directory kept: ${dataDir}`);
}
process.exit(ok ? 0 : 1);
