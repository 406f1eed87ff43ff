/**
 * The raw driver: the conformance suite with the native addon, with the subprocess fallback forced, and (when
 * CINDERBOX_TEST_REFLINK_DIR names a directory on XFS/btrfs) with reflinks; plus the sparse primitives and a real
 * SIGKILL in the middle of a snapshot.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { VolumeDriver } from '../../../domain/ports/volume-driver.js';
import { pattern, runVolumeDriverConformance } from '../conformance.js';
import {
  addonStatus,
  FIEMAP_FLAGS,
  isUnsupportedError,
  parseFilefrag,
  SparseIo,
  type SparseIoBackend,
} from '../sparse-io.js';
import { createRawVolumeDriver, RawVolumeDriver } from './raw-driver.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const addonLoaded = addonStatus().loaded;
const repoRoot = fileURLToPath(new URL('../../../../../../', import.meta.url));
const driverModule = pathToFileURL(fileURLToPath(new URL('./raw-driver.ts', import.meta.url))).href;
const sparseModule = pathToFileURL(fileURLToPath(new URL('../sparse-io.ts', import.meta.url))).href;

async function writeAt(path: string, offset: number, data: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(data, 0, data.length, offset);
  } finally {
    await fh.close();
  }
}

async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Starts createSnapshot in a child process and SIGKILLs it once the copy has begun (its first progress report
 * blocks until the kill), leaving exactly what a crash leaves.
 */
async function crashDuringSnapshot(
  driver: VolumeDriver,
  volumeId: string,
  snapshotId: string,
  backend: SparseIoBackend,
) {
  const script = `
    const { RawVolumeDriver } = await import(${JSON.stringify(driverModule)});
    const { SparseIo } = await import(${JSON.stringify(sparseModule)});
    const { writeSync } = await import('node:fs');
    const driver = new RawVolumeDriver({ name: 'crash', directory: ${JSON.stringify(driver.directory)},
      sparseIo: new SparseIo({ backend: ${JSON.stringify(backend)} }), reflink: false });
    await driver.createSnapshot(${JSON.stringify(volumeId)}, ${JSON.stringify(snapshotId)}, {
      onProgress: () => { writeSync(1, 'copying\\n'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000); },
    });
    writeSync(1, 'finished\\n');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes('copying')) child.kill('SIGKILL');
  });
  const signal = await exited;
  assert.equal(signal, 'SIGKILL', `the child was not killed mid-copy: ${stdout} ${stderr}`);
}

function conformance(label: string, backend: SparseIoBackend, tmpRoot?: string, reflink?: boolean) {
  runVolumeDriverConformance(
    label,
    (dir) =>
      createRawVolumeDriver({
        name: 'raw',
        directory: dir,
        sparseIo: new SparseIo({ backend }),
        ...(reflink === undefined ? {} : { reflink }),
      }),
    {
      ...(tmpRoot === undefined ? {} : { tmpRoot }),
      simulateInterruptedSnapshot: async (driver, volumeId, snapshotId) => {
        await crashDuringSnapshot(driver, volumeId, snapshotId, backend);
        const left = (await readdir(driver.directory)).filter((n) => n.startsWith(`.tmp-_snapshot-${snapshotId}.`));
        assert.equal(left.length, 1, 'the crash should leave one temporary');
      },
    },
  );
}

if (addonLoaded) {
  conformance('raw (native addon)', 'native');
} else {
  it('raw conformance with the native addon', { skip: `addon not built: ${addonStatus().error ?? ''}` }, () => {});
}
conformance('raw (subprocess fallback)', 'subprocess');

const reflinkDir = process.env.CINDERBOX_TEST_REFLINK_DIR;
if (reflinkDir) {
  if (addonLoaded) conformance('raw (reflink, native)', 'native', reflinkDir, true);
  conformance('raw (reflink, subprocess)', 'subprocess', reflinkDir, true);

  it('reflinks snapshots on a reflink-capable filesystem', async () => {
    const dir = await mkdtemp(join(reflinkDir, 'cinderbox-reflink-'));
    try {
      const driver = await createRawVolumeDriver({ name: 'raw', directory: dir });
      assert.deepEqual(driver.capabilities, { cheapSnapshots: true, snapshotMethod: 'reflink' });
      const vol = randomUUID();
      const snap = randomUUID();
      await driver.createVolume(vol, 8 * MiB);
      await writeAt(driver.path('volume', vol), 0, pattern(4 * MiB, 9));
      await driver.createSnapshot(vol, snap);
      const extents = await new SparseIo().physicalExtents(driver.path('snapshot', snap));
      assert.ok(
        extents.length > 0 && extents.every((e) => (e.flags & FIEMAP_FLAGS.shared) !== 0),
        'snapshot blocks are shared',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

for (const backend of ['native', 'subprocess'] as const) {
  describe(`sparse primitives (${backend})`, {
    skip: backend === 'native' && !addonLoaded ? 'addon not built' : false,
  }, () => {
    let dir: string;
    let io: SparseIo;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'cinderbox-sparse-'));
      io = new SparseIo({ backend });
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    async function holeyFile(name: string): Promise<string> {
      const path = join(dir, name);
      await writeFile(path, '');
      const fh = await open(path, 'r+');
      await fh.truncate(16 * MiB);
      await fh.write(pattern(8 * KiB, 1), 0, 8 * KiB, MiB);
      await fh.write(pattern(4 * KiB, 2), 0, 4 * KiB, 9 * MiB);
      await fh.close();
      return path;
    }

    it('uses the requested backend', () => {
      assert.equal(io.backend, backend);
    });

    it('finds data extents and skips holes', async () => {
      const path = await holeyFile('extents');
      assert.deepEqual(await io.dataExtents(path), [
        { offset: MiB, length: 8 * KiB },
        { offset: 9 * MiB, length: 4 * KiB },
      ]);
      await writeFile(join(dir, 'empty'), '');
      assert.deepEqual(await io.dataExtents(join(dir, 'empty')), []);
      const hole = join(dir, 'hole');
      await writeFile(hole, '');
      await truncate(hole, MiB);
      assert.deepEqual(await io.dataExtents(hole), []);
      await assert.rejects(io.dataExtents(join(dir, 'missing')), { code: 'ENOENT' });
    });

    it('reports physical extents', async () => {
      const path = await holeyFile('fiemap');
      const extents = await io.physicalExtents(path);
      assert.equal(extents.length, 2);
      assert.equal(extents[0]?.logical, MiB);
      assert.equal(extents[0]?.length, 8 * KiB);
      assert.equal(extents[1]?.logical, 9 * MiB);
      assert.ok((extents[0]?.physical ?? 0) > 0);
      assert.ok(((extents[1]?.flags ?? 0) & FIEMAP_FLAGS.last) !== 0, 'the last extent carries the LAST flag');
    });

    it('punches holes without changing the size', async () => {
      const path = join(dir, 'punch');
      await writeFile(path, pattern(256 * KiB, 3));
      const blocksBefore = (await stat(path)).blocks;
      await io.punchHole(path, 64 * KiB, 64 * KiB);
      const st = await stat(path);
      assert.equal(st.size, 256 * KiB);
      assert.ok(st.blocks < blocksBefore, 'punching frees blocks');
      assert.ok((await readAt(path, 64 * KiB, 64 * KiB)).equals(Buffer.alloc(64 * KiB)));
      assert.ok((await readAt(path, 128 * KiB, 4 * KiB)).equals(pattern(256 * KiB, 3).subarray(128 * KiB, 132 * KiB)));
      await io.zeroRange(path, 200 * KiB + 3, 10);
      assert.ok((await readAt(path, 200 * KiB + 3, 10)).equals(Buffer.alloc(10)));
      await io.zeroRange(path, 250 * KiB, MiB);
      assert.equal((await stat(path)).size, 256 * KiB, 'zeroRange never grows the file');
    });

    it('copies only non-zero blocks, with progress, and honours abort', async () => {
      const src = join(dir, 'copy-src');
      const data = Buffer.concat([pattern(256 * KiB, 4), Buffer.alloc(512 * KiB), pattern(256 * KiB, 5)]);
      await writeFile(src, data); // the zeros are allocated: one data extent with a zero run inside
      await truncate(src, 64 * MiB);
      const dest = join(dir, 'copy-dest');
      const seen: number[] = [];
      const result = await io.copySparse(src, dest, { onProgress: (f) => seen.push(f), bufferSize: 128 * KiB });
      assert.equal(result.bytesWritten, 512 * KiB);
      assert.equal(result.bytesRead, MiB);
      assert.equal((await stat(dest)).size, 64 * MiB);
      assert.ok((await readAt(dest, 0, MiB)).equals(data));
      assert.ok((await stat(dest)).blocks * 512 <= 512 * KiB + 64 * KiB, 'the zero run stays a hole');
      assert.equal(seen.at(-1), 1);
      await assert.rejects(io.copySparse(src, join(dir, 'aborted'), { signal: AbortSignal.abort() }), {
        name: 'AbortError',
      });
      const c = new AbortController();
      await assert.rejects(
        io.copySparse(src, join(dir, 'aborted2'), {
          signal: c.signal,
          bufferSize: 4 * KiB,
          onProgress: () => c.abort(),
        }),
        { name: 'AbortError' },
      );
    });

    it('reflinks where the filesystem can, and says so where it cannot', async () => {
      const src = join(dir, 'reflink-src');
      await writeFile(src, pattern(64 * KiB, 6));
      const supported = await io.probeReflink(dir);
      assert.deepEqual(
        (await readdir(dir)).filter((n) => n.startsWith('.tmp-')),
        [],
        'the probe cleans up',
      );
      if (supported) {
        await io.reflink(src, join(dir, 'reflink-dest'));
        assert.ok((await readFile(join(dir, 'reflink-dest'))).equals(pattern(64 * KiB, 6)));
      } else {
        await assert.rejects(io.reflink(src, join(dir, 'reflink-dest')), (e) => isUnsupportedError(e));
      }
    });
  });
}

describe('raw driver specifics', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-raw-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates its directory, names files as documented and reports its copy method', async () => {
    const driver = await createRawVolumeDriver({ name: 'raw', directory: join(dir, 'a', 'b') });
    assert.equal(driver.format, 'raw');
    const vol = randomUUID();
    const snap = randomUUID();
    await driver.createVolume(vol, MiB);
    await driver.createSnapshot(vol, snap);
    assert.deepEqual((await readdir(driver.directory)).sort(), [`_snapshot-${snap}`, `volume-${vol}`]);
    assert.equal(driver.path('volume', vol), join(dir, 'a', 'b', `volume-${vol}`));
    const expected = (await new SparseIo().probeReflink(driver.directory)) ? 'reflink' : 'sparse-copy';
    assert.equal(driver.capabilities.snapshotMethod, expected);
    assert.equal(driver.capabilities.cheapSnapshots, expected === 'reflink');
  });

  it('refuses to shrink and to create from a larger source', async () => {
    const driver = await createRawVolumeDriver({ name: 'raw', directory: join(dir, 'c') });
    const vol = randomUUID();
    await driver.createVolume(vol, 2 * MiB);
    await assert.rejects(driver.extendVolume(vol, MiB), { code: 'EINVAL' });
    await assert.rejects(driver.cloneVolume(vol, randomUUID(), MiB), { code: 'EINVAL' });
    await assert.rejects(driver.createVolume(randomUUID(), -1), { code: 'EINVAL' });
    await assert.rejects(driver.createVolume(randomUUID(), 1.5), { code: 'EINVAL' });
  });

  it('falls back to a sparse copy when a forced reflink is unsupported', async () => {
    const directory = join(dir, 'd');
    const probe = await createRawVolumeDriver({ name: 'raw', directory });
    if (probe.capabilities.cheapSnapshots) return; // this filesystem reflinks; nothing to fall back from
    const driver = new RawVolumeDriver({ name: 'raw', directory, reflink: true });
    const vol = randomUUID();
    await driver.createVolume(vol, 8 * MiB);
    await writeAt(driver.path('volume', vol), 3 * MiB, pattern(4 * KiB, 7));
    const snap = randomUUID();
    await driver.createSnapshot(vol, snap);
    assert.ok((await readAt(driver.path('snapshot', snap), 3 * MiB, 4 * KiB)).equals(pattern(4 * KiB, 7)));
  });

  it('deleteSnapshot also removes leftovers of an interrupted create', async () => {
    const driver = await createRawVolumeDriver({ name: 'raw', directory: join(dir, 'e') });
    const vol = randomUUID();
    const snap = randomUUID();
    await driver.createVolume(vol, 4 * MiB);
    await writeAt(driver.path('volume', vol), 0, pattern(MiB, 8));
    await crashDuringSnapshot(driver, vol, snap, driver.sparseBackend);
    assert.equal((await readdir(driver.directory)).length, 2);
    await driver.deleteSnapshot(vol, snap);
    assert.deepEqual(await readdir(driver.directory), [`volume-${vol}`]);
  });
});

describe('parseFilefrag', () => {
  it('reads extents, block size and flags', () => {
    const out = [
      'Filesystem type is: ef53',
      'File size of f is 10485760 (2560 blocks of 4096 bytes)',
      ' ext:     logical_offset:        physical_offset: length:   expected: flags:',
      '   0:      256..     256:    5836032..   5836032:      1:             ',
      '   1:     1024..    1039:    5835376..   5835391:     16:    5836800: last,unwritten',
      'f: 2 extents found',
    ].join('\n');
    assert.deepEqual(parseFilefrag(out), [
      { logical: 256 * 4096, physical: 5836032 * 4096, length: 4096, flags: 0 },
      {
        logical: 1024 * 4096,
        physical: 5835376 * 4096,
        length: 16 * 4096,
        flags: FIEMAP_FLAGS.last | FIEMAP_FLAGS.unwritten,
      },
    ]);
  });
});
