/**
 * qcow2 uploads and restores stage one bounded window at a time: with room for the data plus a window (but not for
 * the data twice) both succeed byte-exact, where a window as large as the data (the old full-size staging) fails.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createQcow2VolumeDriver } from '../../drivers/volume/qcow2/qcow2-driver.js';
import { probeQemuImg } from '../../drivers/volume/qcow2/qemu.js';
import { qemuRead } from '../../drivers/volume/qcow2/test-support.js';
import { mountSmallFs, type SmallFs } from './small-fs.js';

const MiB = 1024 * 1024;
const DATA = 24 * MiB;
/** Room for the data once, its qcow2 metadata and a few windows; not for the data twice. */
const ROOM = DATA + 8 * MiB;
const qemu = probeQemuImg();
const mounted = qemu.available ? await mountSmallFs(96) : { skipped: qemu.detail };
const skip = 'skipped' in mounted ? mounted.skipped : false;
if (skip) console.log(`# qcow2 staging tests skipped: ${skip}`);

describe('qcow2 staging on a nearly full disk', { skip }, () => {
  const fs = mounted as SmallFs;
  after(() => fs.release());
  const dir = () => join(fs.mountPoint, 'backend');

  async function volumeWithRoom() {
    const windowed = await createQcow2VolumeDriver({ name: 'qcow2', directory: dir(), stagingBytes: MiB });
    const whole = await createQcow2VolumeDriver({ name: 'qcow2', directory: dir(), stagingBytes: 64 * MiB });
    const id = randomUUID();
    await windowed.createVolume(id, 64 * MiB);
    await fs.unfill();
    await fs.fill();
    await fs.free(ROOM);
    return { windowed, whole, id };
  }

  before(async () => {
    await fs.unfill();
  });

  test('an upload needs room for the data and one window, not the data twice', async () => {
    const { windowed, whole, id } = await volumeWithRoom();
    await assert.rejects(whole.writeRaw(id, Readable.from([randomBytes(DATA)])), { code: 'ENOSPC' }, 'a whole-size staging file does not fit');
    assert.deepEqual((await readdir(dir())).filter((n) => n.startsWith('.tmp-')), [], 'the failed upload left no temporary');
    const data = randomBytes(DATA);
    assert.equal(await windowed.writeRaw(id, Readable.from([data.subarray(0, 5 * MiB + 3), data.subarray(5 * MiB + 3)])), DATA);
    assert.ok((await qemuRead(windowed, 'volume', id, 0, DATA)).equals(data));
    await windowed.deleteVolume(id);
  });

  test('a restore needs room for the data and two windows, not the data twice', async () => {
    const { windowed, id } = await volumeWithRoom();
    const data = randomBytes(DATA);
    const target = await windowed.importRaw(id);
    try {
      // As the backup repository writes it: front to back, each finished window handed on.
      const fh = await open(target.path, 'r+');
      try {
        for (let at = 0; at < DATA; at += MiB) {
          await fh.write(data, at, MiB, at);
          await target.window!.flush(at, MiB);
        }
      } finally {
        await fh.close();
      }
      await target.commit();
    } finally {
      await target.release();
    }
    assert.ok((await qemuRead(windowed, 'volume', id, 0, DATA)).equals(data));
    assert.deepEqual((await readdir(dir())).filter((n) => n.startsWith('.tmp-')), []);
  });
});
