/** Independent ways into qcow2 volumes for tests: qemu-io writes and qemu-img dd reads, never the driver's own code. */
import { randomBytes } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VolumeDriver } from '../../../domain/ports/volume-driver.js';
import type { Qcow2VolumeDriver } from './qcow2-driver.js';
import { qemuImg, qemuIo } from './qemu.js';

const scratch = () => join(tmpdir(), `cinderbox-qcow2-io-${randomBytes(6).toString('hex')}`);

/** Writes through qemu-io, as a consumer of the connection's device path would. */
export async function qemuWrite(driver: VolumeDriver, volumeId: string, offset: number, data: Buffer): Promise<void> {
  const file = scratch();
  await writeFile(file, data);
  try {
    await qemuIo(['-f', 'qcow2', '-c', `write -q -s ${file} ${offset} ${data.length}`, driver.volumeConnection(volumeId).devicePath]);
  } finally {
    await rm(file, { force: true });
  }
}

/** Many writes in one qemu-io process. */
export async function qemuWriteMany(driver: VolumeDriver, volumeId: string, writes: [number, Buffer][]): Promise<void> {
  const files = writes.map(() => scratch());
  try {
    await Promise.all(writes.map(([, data], i) => writeFile(files[i]!, data)));
    const args = ['-f', 'qcow2'];
    for (const [i, [offset, data]] of writes.entries()) args.push('-c', `write -q -s ${files[i]} ${offset} ${data.length}`);
    await qemuIo([...args, driver.volumeConnection(volumeId).devicePath]);
  } finally {
    await Promise.all(files.map((f) => rm(f, { force: true })));
  }
}

/** Reads virtual bytes with `qemu-img convert` of a raw window (512-byte aligned) onto the image's chain. */
export async function qemuRead(
  driver: VolumeDriver,
  kind: 'volume' | 'snapshot',
  id: string,
  offset: number,
  length: number,
): Promise<Buffer> {
  const size = (await driver.stat(kind, id))?.size ?? 0;
  const end = Math.min(size, offset + length);
  if (end <= offset) return Buffer.alloc(0);
  const first = Math.floor(offset / 512) * 512;
  const last = Math.min(size, Math.ceil(end / 512) * 512);
  const spec = {
    driver: 'raw',
    offset: first,
    size: last - first,
    file: { driver: 'qcow2', file: { driver: 'file', filename: driver.path(kind, id) } },
  };
  const file = scratch();
  try {
    await qemuImg(['convert', '-U', '-O', 'raw', `json:${JSON.stringify(spec)}`, file]);
    const buf = await readFile(file);
    return buf.subarray(offset - first, end - first);
  } finally {
    await rm(file, { force: true });
  }
}

/** Host blocks of every file in the object's chain. */
export async function chainAllocated(driver: VolumeDriver, kind: 'volume' | 'snapshot', id: string): Promise<number> {
  let total = 0;
  for (const layer of await (driver as Qcow2VolumeDriver).chain(driver.path(kind, id))) total += (await stat(layer.path)).blocks * 512;
  return total;
}
