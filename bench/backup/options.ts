/**
 * bench/backup/run.ts's command line: parsed and checked once, at import, so a bad option fails before any
 * volume is built. The options are described in run.ts's header.
 */
import { parseArgs } from 'node:util';
import { type Compression, COMPRESSIONS } from '../../packages/server/src/backup-repo/index.js';
import { MiB } from './measure.js';

export const { values: args } = parseArgs({
  options: {
    'size-gib': { type: 'string', default: '4' },
    dir: { type: 'string', default: '/var/tmp/cbx-bench-backup' },
    workers: { type: 'string' },
    'no-anchors': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    /** Comma-separated volume names to run (mixed,dense,compressible); all by default. */
    volumes: { type: 'string' },
    /** Source in the page cache instead of dropped before each backup: isolates the CPU side from the disk. */
    'warm-cache': { type: 'boolean', default: false },
    /** Comma-separated chunk compressions to compare (auto,zstd,lz4,none); default auto. */
    compression: { type: 'string', default: 'auto' },
    /** Comma-separated targets: fs (default), s3 (radosgw; implies fs too, for the side-by-side figures). */
    target: { type: 'string', default: 'fs' },
    'no-index': { type: 'boolean', default: false },
    /**
     * Steadiness mode: N consecutive full backups (fresh repository each) and restores per volume, with restic and
     * borg run in the same loop and the disk's write speed probed between runs; prints MiB/s per run, the
     * median, the spread against ±15 %, CPU s/GiB and fsyncs/GiB, and restore against the disk's write speed.
     */
    runs: { type: 'string' },
    /** Steadiness mode: chunk writes of the fs store, on = O_DIRECT (default), off = buffered; "on,off" runs both. */
    'direct-writes': { type: 'string', default: 'on' },
    /** Steadiness mode: also restore from a copy of the repository here (another device or a tmpfs). */
    'repo-dir': { type: 'string' },
    /**
     * --repo-dir: separate-device restores per run, each between its own two probes; the run reports the
     * sample with the median restore/disk ratio (the disk is shared: one probe pair swings by a third).
     */
    'restore-samples': { type: 'string', default: '1' },
  },
});
export const SIZE = Math.round(Number(args['size-gib']) * 1024) * MiB;
export const DIR = args.dir as string;
export const REPO_DIR = args['repo-dir'];
export const RESTORE_SAMPLES = Number(args['restore-samples']);
if (!(Number.isInteger(RESTORE_SAMPLES) && RESTORE_SAMPLES >= 1)) throw new Error('--restore-samples: a positive integer');
if (REPO_DIR !== undefined && args.runs === undefined) throw new Error('--repo-dir needs --runs');
export const WORKERS = args.workers ? Number(args.workers) : undefined;
export const ONLY = args.volumes?.split(',');
export const COMPRESSION = (args.compression as string).split(',') as Compression[];
export type Target = 'fs' | 's3';
export const TARGETS: Target[] = [];
for (const t of (args.target as string).split(',')) {
  if (t !== 'fs' && t !== 's3') throw new Error(`--target: ${t} is not fs or s3`);
  if (t === 's3' && !TARGETS.includes('fs')) TARGETS.push('fs');
  if (!TARGETS.includes(t)) TARGETS.push(t);
}
export const S3_ENV = {
  endpoint: process.env.CINDERBOX_TEST_S3_ENDPOINT,
  region: process.env.CINDERBOX_TEST_S3_REGION ?? 'default',
  accessKeyId: process.env.CINDERBOX_TEST_S3_ACCESS_KEY ?? '',
  secretAccessKey: process.env.CINDERBOX_TEST_S3_SECRET_KEY ?? '',
};
if (TARGETS.includes('s3') && !S3_ENV.endpoint) {
  throw new Error('--target s3 needs CINDERBOX_TEST_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY (scripts/start-ceph.sh prints them)');
}
export const S3_BUCKET = `cbx-bench-${process.pid}`;
for (const c of COMPRESSION) {
  if (!COMPRESSIONS.includes(c)) throw new Error(`--compression: ${c} is not one of ${COMPRESSIONS.join(', ')}`);
}
export const DIRECT_MODES = (args['direct-writes'] as string).split(',');
for (const m of DIRECT_MODES) if (m !== 'on' && m !== 'off') throw new Error(`--direct-writes: ${m} is not on or off`);
