/**
 * Upload and restore throughput of a qcow2 volume through the HTTP API, and the most temporary space either took
 * (sampled every 20 ms from the backend directory's `.tmp-*` files), to compare the bounded staging window with
 * the old full-size raw staging file.
 *
 *   node --import tsx bench/disk/qcow2-staging.ts [--size-gib 1] [--dir /var/tmp/cbx-bench-staging]
 *
 * The data is random (incompressible, no dedup), uploaded in one PUT; then a backup of the volume and a restore
 * into a new volume; the restored bytes are compared with the upload's by sha256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { startTestServer, waitFor } from '../../packages/server/src/test-support/harness.js';

const { values } = parseArgs({ options: { 'size-gib': { type: 'string', default: '1' }, dir: { type: 'string', default: '/var/tmp/cbx-bench-staging' } } });
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const sizeGib = Number(values['size-gib']);
const bytes = sizeGib * GiB;
const dir = values.dir!;
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });

const block = randomBytes(64 * MiB);
/** Block i of the data: the random block with its index stamped in, so no two blocks are equal. */
function piece(i: number): Buffer {
  const b = Buffer.from(block);
  b.writeUInt32LE(i, 0);
  return b;
}
const expected = createHash('sha256');
for (let i = 0; i < bytes / block.length; i++) expected.update(piece(i));
const want = expected.digest('hex');

const t = await startTestServer({ backends: [{ name: 'qcow2', driver: 'qcow2', pool: 'qcow2' }], quotaDefaults: { volumes: -1, gigabytes: -1, backups: -1, backup_gigabytes: -1, snapshots: -1, per_volume_gigabytes: -1, groups: -1 } }, dir);
const base = `/v3/${t.adminProjectId}`;
const call = (method: string, path: string, body?: unknown) => t.request(method, `${base}${path}`, { token: t.adminToken, body });
const backend = join(dir, 'volumes', 'qcow2');

let peakTemp = 0;
const sampler = setInterval(async () => {
  let sum = 0;
  for (const n of await readdir(backend).catch(() => [] as string[])) {
    if (!n.startsWith('.tmp-')) continue;
    const st = await stat(join(backend, n)).catch(() => null);
    if (st) sum += st.blocks * 512;
  }
  peakTemp = Math.max(peakTemp, sum);
}, 20);

async function volume(name: string): Promise<string> {
  const r = await call('POST', '/volumes', { volume: { size: sizeGib, name } });
  const id = r.body.volume.id as string;
  await waitFor(async () => (await call('GET', `/volumes/${id}`)).body.volume.status === 'available', 'volume', 600_000);
  return id;
}

try {
  const vol = await volume('bench');
  peakTemp = 0;
  let t0 = performance.now();
  const res = await fetch(`${t.url}${base}/volumes/${vol}/cinderbox-data`, {
    method: 'PUT',
    headers: { 'X-Auth-Token': t.adminToken, 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes) },
    body: Readable.toWeb(Readable.from((function* () { for (let i = 0; i < bytes / block.length; i++) yield piece(i); })())) as never,
    duplex: 'half',
  } as RequestInit);
  if (!res.ok) throw new Error(`upload ${res.status} ${await res.text()}`);
  const upload = (performance.now() - t0) / 1000;
  const uploadPeak = peakTemp;

  const b = await call('POST', '/backups', { backup: { volume_id: vol, name: 'bench' } });
  const backupId = b.body.backup.id as string;
  await waitFor(async () => (await call('GET', `/backups/${backupId}`)).body.backup.status === 'available', 'backup', 600_000);

  const target = await volume('bench-restore');
  peakTemp = 0;
  t0 = performance.now();
  const r = await call('POST', `/backups/${backupId}/restore`, { restore: { volume_id: target } });
  if (r.status !== 202) throw new Error(`restore ${r.status} ${r.text}`);
  await waitFor(async () => (await call('GET', `/volumes/${target}`)).body.volume.status === 'available', 'restore', 600_000);
  const restore = (performance.now() - t0) / 1000;
  const restorePeak = peakTemp;

  const h = createHash('sha256');
  const dl = await fetch(`${t.url}${base}/volumes/${target}/cinderbox-data`, { headers: { 'X-Auth-Token': t.adminToken } });
  for await (const c of dl.body as unknown as AsyncIterable<Uint8Array>) h.update(c);
  const same = h.digest('hex') === want;

  const mibs = (s: number) => (bytes / MiB / s).toFixed(0);
  console.log(`size ${sizeGib} GiB qcow2`);
  console.log(`upload  ${upload.toFixed(2)} s  ${mibs(upload)} MiB/s  peak temporary ${(uploadPeak / MiB).toFixed(0)} MiB`);
  console.log(`restore ${restore.toFixed(2)} s  ${mibs(restore)} MiB/s  peak temporary ${(restorePeak / MiB).toFixed(0)} MiB`);
  console.log(`restored bytes equal the upload: ${same}`);
  if (!same) process.exitCode = 1;
} finally {
  clearInterval(sampler);
  await t.close();
  await rm(dir, { recursive: true, force: true });
}
