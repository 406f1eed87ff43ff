/**
 * bench/scale's repository part: a backup repository of up to --chunks chunk objects (1 MiB chunks of zeros,
 * zstd, ~100 bytes an object, random ids) and their manifests, written straight through the fs object store
 * (the backup engine would take hours to write a million chunks), then `cinderbox repo verify --offline` and
 * `cinderbox repo gc --offline --grace 0` under /usr/bin/time -v (wall time, max RSS) after each step.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compress } from 'zstd-napi';
import { CODEC_ZSTD, ID_BYTES, chunkKey, encodeChunkObject } from '../../packages/server/src/backup-repo/format.js';
import { Manifest, encodeManifest, manifestKey } from '../../packages/server/src/backup-repo/manifest.js';
import { BackupRepository } from '../../packages/server/src/backup-repo/repository.js';
import { FsObjectStore } from '../../packages/server/src/drivers/objects/fs/fs-object-store.js';

const run = promisify(execFile);

export interface RepoStep {
  chunks: number;
  seedS: number;
  verifyS: number;
  verifyMiB: number;
  gcS: number;
  gcMiB: number;
  deleted: string;
  load: string;
}

async function timed(cli: string, argv: string[], env: NodeJS.ProcessEnv): Promise<{ s: number; maxMiB: number; stdout: string }> {
  const r = await run('/usr/bin/time', ['-v', process.execPath, cli, ...argv], { env, maxBuffer: 64 << 20 }).catch((e) => {
    // verify exits 4 on problems; the table must not hide that.
    throw new Error(`${argv.join(' ')} failed: ${e.stderr ?? e}`);
  });
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  const s = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
  const maxMiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? NaN) / 1024;
  return { s, maxMiB, stdout: r.stdout };
}

/**
 * Seeds the repository in steps (a quarter, half, all of `opts.chunks`, plus 1 % orphans each) and runs offline
 * verify and gc after each step; `opts.keep` leaves the data directory for a look afterwards.
 */
export async function benchRepo(opts: { chunks: number; keep: boolean; cli: string; log: (s: string) => void }): Promise<RepoStep[]> {
  const { log } = opts;
  const dir = await mkdtemp(join(tmpdir(), 'cinderbox-scale-repo-'));
  const steps: RepoStep[] = [];
  try {
    const root = join(dir, 'repo');
    await mkdir(root, { recursive: true });
    // Seeding only: the bench's own writes need not survive a power cut.
    const store = new FsObjectStore(root, { unsafeNoSync: true });
    const CS = 1 << 20;
    const repo = await BackupRepository.open({ store, chunkSize: CS, workers: 1 });
    await repo.close();
    const cfg = JSON.parse((await store.get('config')).toString('utf8')) as { repoId: string; idAlgorithm: any };
    const payload = compress(Buffer.alloc(CS), { compressionLevel: 1 });
    const env = { ...process.env, CINDERBOX_DATA_DIR: dir };
    const targets = [Math.floor(opts.chunks / 4), Math.floor(opts.chunks / 2), opts.chunks];
    let have = 0;
    let manifests = 0;
    for (const target of targets) {
      const t0 = performance.now();
      const n = target - have;
      // One manifest per 50k chunks (a 50 GiB volume at 1 MiB chunks).
      const per = 50_000;
      for (let at = 0; at < n; at += per) {
        const k = Math.min(per, n - at);
        const entries = Buffer.alloc(k * ID_BYTES);
        let next = 0;
        const worker = async () => {
          while (next < k) {
            const i = next++;
            const id = randomBytes(ID_BYTES);
            id.copy(entries, i * ID_BYTES);
            const hex = id.toString('hex');
            await store.put(chunkKey(hex), encodeChunkObject(payload, CODEC_ZSTD, CS, undefined, hex));
          }
        };
        await Promise.all(Array.from({ length: 32 }, worker));
        const mid = `b${manifests++}`;
        const header = {
          format: 1 as const,
          id: mid,
          container: 'bench',
          repoId: cfg.repoId,
          size: k * CS,
          chunkSize: CS,
          idAlgorithm: cfg.idAlgorithm,
          encrypted: false,
          parent: null,
          createdAt: new Date().toISOString(),
          stats: { chunks: k, zeroChunks: 0, newChunks: k, reusedChunks: 0, storedBytes: k * 100, logicalBytes: k * CS, dataBytes: k * CS, readBytes: k * CS },
          meta: {},
        };
        await store.put(manifestKey(`bench/${mid}`), encodeManifest(new Manifest(header, entries), undefined));
      }
      // Orphans (1 % of the step), which gc --grace 0 deletes.
      for (let i = 0; i < Math.ceil(n / 100); i++) {
        const hex = randomBytes(ID_BYTES).toString('hex');
        await store.put(chunkKey(hex), encodeChunkObject(payload, CODEC_ZSTD, CS, undefined, hex));
      }
      have = target;
      const seedS = (performance.now() - t0) / 1000;
      log(`repo: ${have} chunks (+${seedS.toFixed(0)} s); verify`);
      const v = await timed(opts.cli, ['repo', 'verify', '--offline', '--data-dir', dir, '-f', 'json'], env);
      const vr = JSON.parse(v.stdout);
      if (vr.chunks !== have || vr.ok !== true) throw new Error(`verify: ${v.stdout.slice(0, 500)}`);
      log(`repo: verify ${v.s.toFixed(1)} s, ${v.maxMiB.toFixed(0)} MiB; gc`);
      const g = await timed(opts.cli, ['repo', 'gc', '--offline', '--data-dir', dir, '--grace', '0', '-f', 'json'], env);
      const gr = JSON.parse(g.stdout);
      steps.push({
        chunks: have,
        seedS,
        verifyS: v.s,
        verifyMiB: v.maxMiB,
        gcS: g.s,
        gcMiB: g.maxMiB,
        deleted: `${gr.deleted}/${gr.chunks}`,
        load: loadavg()[0]!.toFixed(1),
      });
      log(`repo: gc ${g.s.toFixed(1)} s, ${g.maxMiB.toFixed(0)} MiB, deleted ${gr.deleted}`);
    }
  } finally {
    if (!opts.keep) await rm(dir, { recursive: true, force: true });
  }
  return steps;
}
