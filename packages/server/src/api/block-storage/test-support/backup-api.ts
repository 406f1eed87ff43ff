/** Helpers of the backup API tests: volumes with known bytes, waits, and whole-volume hashes. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { SparseIo } from '../../../drivers/volume/sparse-io.js';
import { type TestServer, waitFor } from '../../../test-support/harness.js';

export type Who = { token: string; projectId: string };
export const MiB = 1024 * 1024;
const BLOCK = 4 * MiB;

export class BackupApi {
  constructor(readonly t: TestServer) {}

  base(who: Who): string {
    return `/v3/${who.projectId}`;
  }

  async volume(who: Who, volume: Record<string, unknown> = { size: 1 }, mv?: string): Promise<string> {
    const r = await this.t.request('POST', `${this.base(who)}/volumes`, {
      token: who.token,
      body: { volume },
      ...(mv ? { mv } : {}),
    });
    assert.equal(r.status, 202, r.text);
    const id = r.body.volume.id as string;
    await this.volumeStatus(who, id, 'available');
    return id;
  }

  async volumeStatus(who: Who, id: string, status: string): Promise<any> {
    return waitFor(async () => {
      const r = await this.t.request('GET', `${this.base(who)}/volumes/${id}`, { token: who.token, mv: '3.60' });
      if (r.body?.volume?.status === status) return r.body.volume;
      if (/error/.test(r.body?.volume?.status ?? '') && !/error/.test(status))
        throw new Error(`volume ${id} went ${r.body.volume.status}`);
      return null;
    }, `volume ${id} ${status}`);
  }

  async devicePath(who: Who, id: string): Promise<string> {
    const r = await this.t.request('POST', `${this.base(who)}/volumes/${id}/action`, {
      token: who.token,
      body: { 'os-initialize_connection': { connector: {} } },
    });
    assert.equal(r.status, 200, r.text);
    return r.body.connection_info.data.device_path as string;
  }

  /** Writes `data` at each offset of the volume through its device path. */
  async write(who: Who, id: string, writes: [offset: number, data: Buffer][]): Promise<void> {
    const fh = await open(await this.devicePath(who, id), 'r+');
    try {
      for (const [offset, data] of writes) await fh.write(data, 0, data.length, offset);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** A few MiB of random and patterned data spread over the volume, with holes between. */
  async fill(who: Who, id: string): Promise<void> {
    await this.write(who, id, [
      [0, randomBytes(2 * MiB)],
      [5 * MiB + 123, Buffer.alloc(MiB, 0x5a)],
      [300 * MiB, randomBytes(MiB)],
      [1024 * MiB - 4096, randomBytes(4096)],
    ]);
  }

  /** SHA-256 of the whole volume (see volumeDigest), through the device path os-initialize_connection gives. */
  async sha(who: Who, id: string): Promise<string> {
    return volumeDigest(await this.devicePath(who, id));
  }

  async backup(who: Who, backup: Record<string, unknown>, mv?: string): Promise<string> {
    const r = await this.t.request('POST', `${this.base(who)}/backups`, {
      token: who.token,
      body: { backup },
      ...(mv ? { mv } : {}),
    });
    assert.equal(r.status, 202, r.text);
    assert.deepEqual(Object.keys(r.body.backup).sort(), ['id', 'links', 'name']);
    return r.body.backup.id as string;
  }

  async backupStatus(who: Who, id: string, status: string): Promise<any> {
    return waitFor(async () => {
      const r = await this.t.request('GET', `${this.base(who)}/backups/${id}`, { token: who.token });
      if (r.body?.backup?.status === status) return r.body.backup;
      if (r.body?.backup?.status === 'error' && status !== 'error')
        throw new Error(`backup ${id} failed: ${r.body.backup.fail_reason}`);
      return null;
    }, `backup ${id} ${status}`);
  }

  async restore(who: Who, backupId: string, restore: Record<string, unknown> = {}): Promise<string> {
    const r = await this.t.request('POST', `${this.base(who)}/backups/${backupId}/restore`, {
      token: who.token,
      body: { restore },
    });
    assert.equal(r.status, 202, r.text);
    assert.deepEqual(Object.keys(r.body.restore).sort(), ['backup_id', 'volume_id', 'volume_name']);
    await this.volumeStatus(who, r.body.restore.volume_id, 'available');
    await this.backupStatus(who, backupId, 'available');
    return r.body.restore.volume_id as string;
  }

  async gone(who: Who, path: string): Promise<void> {
    await waitFor(
      async () => (await this.t.request('GET', `${this.base(who)}${path}`, { token: who.token })).status === 404,
      `${path} gone`,
    );
  }
}

/** Cinder's fault body: one key naming the fault, holding code and message. */
export function assertFault(res: { status: number; body: any; text: string }, status: number, pattern?: RegExp): void {
  assert.equal(res.status, status, res.text);
  const keys = Object.keys(res.body ?? {});
  assert.equal(keys.length, 1, res.text);
  const fault = res.body[keys[0]!];
  assert.equal(fault.code, status, res.text);
  assert.equal(typeof fault.message, 'string');
  if (pattern) assert.match(fault.message, pattern);
}

const sparse = new SparseIo();
const ZEROS = Buffer.alloc(BLOCK);

/**
 * SHA-256 of a volume file's whole content in a canonical sparse form: every 4 MiB block that is not all zeros,
 * with its index, then the size. Equal digests mean byte-equal volumes whatever their allocation; only the
 * allocated ranges (SEEK_DATA, as a backup finds them) are read, so 1 GiB volumes hash in milliseconds.
 */
export async function volumeDigest(path: string): Promise<string> {
  const blocks = new Set<number>();
  for (const e of await sparse.dataExtents(path)) {
    for (let b = Math.floor(e.offset / BLOCK); b * BLOCK < e.offset + e.length; b++) blocks.add(b);
  }
  const h = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.alloc(BLOCK);
    for (const b of [...blocks].sort((x, y) => x - y)) {
      const { bytesRead } = await fh.read(buf, 0, BLOCK, b * BLOCK);
      const data = buf.subarray(0, bytesRead);
      if (data.equals(ZEROS.subarray(0, data.length))) continue;
      const index = Buffer.alloc(8);
      index.writeBigUInt64BE(BigInt(b));
      h.update(index).update(data);
    }
    h.update(`size=${size}`);
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}
