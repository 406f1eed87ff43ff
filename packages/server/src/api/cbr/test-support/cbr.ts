import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { ServerConfig } from '../../../config/config.js';
import type { StartOptions } from '../../../main.js';
import { startTestServer, type TestServer, waitFor } from '../../../test-support/harness.js';

/**
 * A test server on the raw volume driver: the helpers below write and hash volume files directly, which only
 * means the guest's bytes when the file is a raw image.
 */
export function startCbrServer(overrides: Partial<ServerConfig> = {}, dataDir?: string, opts: StartOptions = {}): Promise<TestServer> {
  return startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }], ...overrides }, dataDir, opts);
}

export interface Caller {
  token: string;
  projectId: string;
}

export function admin(ts: TestServer): Caller {
  return { token: ts.adminToken, projectId: ts.adminProjectId };
}

export function cbrPath(who: Caller, path: string): string {
  return `/cbr/v3/${who.projectId}${path}`;
}

export async function cbr(ts: TestServer, who: Caller, method: string, path: string, body?: unknown) {
  return ts.request(method, cbrPath(who, path), { token: who.token, body });
}

export async function createVolume(ts: TestServer, who: Caller, name: string, size = 1): Promise<string> {
  const r = await ts.request('POST', `/v3/${who.projectId}/volumes`, { token: who.token, body: { volume: { size, name } } });
  if (r.status !== 202) throw new Error(`volume create: ${r.status} ${r.text}`);
  const id = r.body.volume.id as string;
  await waitVolume(ts, who, id, 'available');
  return id;
}

export async function volumeStatus(ts: TestServer, who: Caller, id: string): Promise<string> {
  const r = await ts.request('GET', `/v3/${who.projectId}/volumes/${id}`, { token: who.token });
  return r.body.volume.status as string;
}

export async function waitVolume(ts: TestServer, who: Caller, id: string, status: string): Promise<void> {
  await waitFor(async () => (await volumeStatus(ts, who, id)) === status, `volume ${id} ${status}`);
}

function volumePath(ts: TestServer, id: string): string {
  return ts.server.services.drivers.get('raw')!.path('volume', id);
}

/** Writes bytes straight into the volume file, as a guest would. */
export async function writeVolume(ts: TestServer, id: string, offset: number, data: Buffer): Promise<void> {
  const fh = await open(volumePath(ts, id), 'r+');
  try {
    await fh.write(data, 0, data.length, offset);
  } finally {
    await fh.close();
  }
}

/**
 * sha256 of the volume's logical bytes: size, then every non-zero 1 MiB block with its offset. Holes and zero
 * blocks read as zeros either way, so this equals hashing the whole file without reading a GiB of zeros.
 */
export async function volumeSha(ts: TestServer, id: string, size?: number): Promise<string> {
  const driver = ts.server.services.drivers.get('raw')!;
  const fh = await open(volumePath(ts, id), 'r');
  const h = createHash('sha256');
  try {
    const total = size ?? (await fh.stat()).size;
    h.update(`size:${total};`);
    const block = 1024 * 1024;
    const buf = Buffer.alloc(block);
    const seen = new Set<number>();
    for (const e of await driver.allocatedExtents('volume', id)) {
      for (let off = Math.floor(e.offset / block) * block; off < Math.min(e.offset + e.length, total); off += block) {
        if (seen.has(off)) continue;
        seen.add(off);
        const { bytesRead } = await fh.read(buf, 0, Math.min(block, total - off), off);
        const data = buf.subarray(0, bytesRead);
        if (data.every((x) => x === 0)) continue;
        h.update(`${off}:`).update(data);
      }
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

export function noise(bytes: number): Buffer {
  return randomBytes(bytes);
}

export async function createVault(ts: TestServer, who: Caller, name: string, volumeIds: string[], size = 10) {
  const r = await cbr(ts, who, 'POST', '/vaults', {
    vault: {
      name,
      billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size },
      resources: volumeIds.map((id) => ({ id, type: 'OS::Cinder::Volume' })),
    },
  });
  if (r.status !== 200) throw new Error(`vault create: ${r.status} ${r.text}`);
  return r.body.vault;
}

export async function waitCheckpoint(ts: TestServer, who: Caller, id: string, statuses = ['available', 'error']) {
  return waitFor(async () => {
    const r = await cbr(ts, who, 'GET', `/checkpoints/${id}`);
    return statuses.includes(r.body?.checkpoint?.status) ? r.body.checkpoint : null;
  }, `checkpoint ${id}`);
}

export async function checkpoint(ts: TestServer, who: Caller, vaultId: string, parameters: Record<string, unknown> = {}) {
  const r = await cbr(ts, who, 'POST', '/checkpoints', { checkpoint: { vault_id: vaultId, parameters } });
  if (r.status !== 200) throw new Error(`checkpoint: ${r.status} ${r.text}`);
  return { created: r.body.checkpoint, done: await waitCheckpoint(ts, who, r.body.checkpoint.id) };
}

export async function backupsOf(ts: TestServer, who: Caller, query: string) {
  const r = await cbr(ts, who, 'GET', `/backups?${query}`);
  if (r.status !== 200) throw new Error(`backups: ${r.status} ${r.text}`);
  return r.body.backups as any[];
}
