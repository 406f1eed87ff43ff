/**
 * bench/backup's anchors, restic and borg: whether they are installed, and their runs on the same volumes with
 * the settings run.ts's header gives (a throughput row, and one full backup for the steadiness runs).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sparseIo } from '../../packages/server/src/drivers/volume/sparse-io.js';
import { GiB, loadAvg, MiB, secs } from './measure.js';
import { args, DIR, SIZE } from './options.js';
import { sh, sha256 } from './shell.js';
import type { SteadyRun } from './steadiness.js';
import type { Row } from './tables.js';
import { change1Percent, dropCache } from './volumes.js';

export function have(cmd: string): boolean {
  return spawnSync('bash', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Runs a command under /usr/bin/time to get its peak RSS and CPU; returns seconds, KiB and CPU seconds. */
function timed(cmd: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): { s: number; rssKiB: number; cpu: number } {
  const t0 = process.hrtime.bigint();
  const useTime = existsSync('/usr/bin/time');
  const argv = useTime ? ['/usr/bin/time', '-f', '%U %S %M', ...cmd] : cmd;
  const r = spawnSync(argv[0] as string, argv.slice(1), {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * MiB,
    ...(cwd ? { cwd } : {}),
  });
  const s = secs(t0);
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed: ${r.stderr}`);
  const last = useTime ? (r.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number) : [];
  const [user = Number.NaN, sys = Number.NaN, rssKiB = Number.NaN] = last;
  return { s, rssKiB, cpu: user + sys };
}

function dirBytes(path: string): number {
  return Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
}

/** A fresh work directory for one anchor run: a copy of the source volume and an empty repository beside it. */
async function anchorWork(prefix: string, tool: 'restic' | 'borg', name: string, source: string) {
  const work = join(DIR, `${prefix}-${tool}-${name}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const vol = join(work, 'vol.raw');
  sh(`cp --sparse=always ${source} ${vol}`);
  const repo = join(work, 'repo');
  const env = { RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: repo, BORG_REPO: repo, BORG_PASSPHRASE: '' };
  return { work, vol, repo, env };
}

type Env = Awaited<ReturnType<typeof anchorWork>>['env'];

function initRepo(tool: 'restic' | 'borg', repo: string, env: Env): void {
  if (tool === 'restic') timed(['restic', 'init', '--repository-version', '2'], env);
  else timed(['borg', 'init', '-e', 'none', repo], env);
}

/** One backup of `vol` with the anchor settings (the file's header says why these). */
function backupWith(tool: 'restic' | 'borg', repo: string, vol: string, archive: string, env: Env) {
  return tool === 'restic'
    ? timed(['restic', 'backup', '--compression', 'auto', vol], env)
    : timed(['borg', 'create', '--sparse', '--chunker-params', 'fixed,4194304', '--compression', 'zstd,1', `${repo}::${archive}`, vol], env);
}

export async function runAnchor(tool: 'restic' | 'borg', name: string, source: string, dataBytes: number): Promise<Row> {
  const { work, vol, repo, env } = await anchorWork('work', tool, name, source);
  const restoreDir = join(work, 'restore');
  await mkdir(restoreDir);
  let full: ReturnType<typeof timed>;
  let incr: ReturnType<typeof timed>;
  let restore: ReturnType<typeof timed>;
  let stored: number;
  let restoredPath: string;
  initRepo(tool, repo, env);
  dropCache(vol);
  full = backupWith(tool, repo, vol, 'full', env);
  stored = dirBytes(repo);
  await change1Percent(vol, await sparseIo().dataExtents(vol));
  dropCache(vol);
  incr = backupWith(tool, repo, vol, 'inc', env);
  if (tool === 'restic') {
    restore = timed(['restic', 'restore', 'latest', '--target', restoreDir], env);
    restoredPath = join(restoreDir, vol);
  } else {
    restore = timed(['borg', 'extract', '--sparse', `${repo}::inc`], env, restoreDir);
    restoredPath = join(restoreDir, vol.replace(/^\//, ''));
  }
  const ok = sha256(restoredPath) === sha256(vol) ? 'sha256 ok' : 'MISMATCH';
  const row: Row = {
    tool,
    volume: name,
    fullS: full.s,
    fullMiBs: SIZE / MiB / full.s,
    dataMiBs: dataBytes / MiB / full.s,
    storedMiB: stored / MiB,
    incrS: incr.s,
    incrStoredMiB: Number.NaN,
    restoreS: restore.s,
    restoreMiBs: SIZE / MiB / restore.s,
    fullCpuPerGiB: full.cpu / (dataBytes / GiB),
    restoreCpuPerGiB: restore.cpu / (SIZE / GiB),
    rssMiB: Math.max(full.rssKiB, incr.rssKiB, restore.rssKiB) / 1024,
    ok,
  };
  console.log(
    `${tool} ${name}: full ${full.s.toFixed(2)} s, incr ${incr.s.toFixed(2)} s, restore ${restore.s.toFixed(2)} s, ${ok}`,
  );
  if (!args.keep) await rm(work, { recursive: true, force: true });
  return row;
}

/** One full backup by restic or borg into a fresh repository (settings as in runAnchor). */
export async function steadyAnchor(tool: 'restic' | 'borg', name: string, source: string, dataBytes: number) {
  const { work, vol, repo, env } = await anchorWork('steady', tool, name, source);
  try {
    initRepo(tool, repo, env);
    dropCache(vol);
    const load = loadAvg();
    const r = backupWith(tool, repo, vol, 'full', env);
    return { fullMiBs: SIZE / MiB / r.s, cpuPerGiB: r.cpu / (dataBytes / GiB), load } satisfies SteadyRun;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
