/**
 * Conformance of the manage half of the VolumeDriver port (objectName, inspectObject, adoptObject and the
 * import area in listObjects): what every driver must do with references to existing objects. A driver's test
 * file calls runManageConformance() once.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { link, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { IMPORT_PREFIX, type VolumeDriver } from '../../domain/ports/volume-driver.js';

const MiB = 1024 * 1024;

/** Every file under `dir` (recursively) with its content, to show that a refused call touched nothing. */
async function snapshotTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath, e.name);
    out[p] = e.isFile() ? (await readFile(p)).toString('hex') : e.isSymbolicLink() ? 'link' : 'dir';
  }
  return out;
}

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => (e as { code?: unknown }).code === code);
}

export interface ManageConformanceOptions {
  /** An object's virtual bytes; the default reads driver.path() as a raw file. */
  read?: (driver: VolumeDriver, kind: 'volume' | 'snapshot', id: string) => Promise<Buffer>;
}

export function runManageConformance(
  label: string,
  makeDriver: (dir: string) => Promise<VolumeDriver>,
  options: ManageConformanceOptions = {},
): void {
  const readObject = options.read ?? ((driver, kind, id) => readFile(driver.path(kind, id)));
  describe(`${label}: manage conformance`, () => {
    let root: string;
    let driver: VolumeDriver;
    beforeEach(async () => {
      root = await mkdtemp(join(tmpdir(), 'cinderbox-manage-'));
      driver = await makeDriver(join(root, 'backend'));
      // The operator creates the import area; drivers must not need it.
      await mkdir(join(driver.directory, 'import'));
    });
    afterEach(async () => {
      await rm(root, { recursive: true, force: true });
    });

    it('names objects by the LVM convention', () => {
      const id = randomUUID();
      assert.equal(driver.objectName('volume', id), `volume-${id}`);
      assert.equal(driver.objectName('snapshot', id), `_snapshot-${id}`);
    });

    it('inspects plain names and import-area names, and reports absent ones as null', async () => {
      const vol = randomUUID();
      await driver.createVolume(vol, 3 * MiB);
      assert.deepEqual(await driver.inspectObject(`volume-${vol}`), { name: `volume-${vol}`, size: 3 * MiB });
      await writeFile(join(driver.directory, 'import', 'disk.img'), Buffer.alloc(12345, 7));
      assert.deepEqual(await driver.inspectObject(`${IMPORT_PREFIX}disk.img`), {
        name: 'import/disk.img',
        size: 12345,
      });
      assert.equal(await driver.inspectObject('no-such-file'), null);
      assert.equal(await driver.inspectObject('import/no-such-file'), null);
      assert.equal(await driver.inspectObject('import'), null, 'a directory is not an object');
    });

    it('refuses names that could leave the directory, and touches nothing', async () => {
      const outside = join(root, 'outside.img');
      await writeFile(outside, 'secret');
      await symlink(outside, join(driver.directory, 'escape.img'));
      await symlink(outside, join(driver.directory, 'import', 'escape.img'));
      const before = await snapshotTree(root);
      const bad = [
        '../outside.img',
        outside,
        'a/b',
        'import/../outside.img',
        'import/sub/x',
        'import/',
        '..',
        '.',
        '.hidden',
        'escape.img',
        'import/escape.img',
        'x\\y',
        '',
      ];
      for (const name of bad) {
        await rejectsWithCode(driver.inspectObject(name), 'EINVAL');
        await rejectsWithCode(driver.adoptObject(name, 'volume', randomUUID()), 'EINVAL');
      }
      assert.deepEqual(await snapshotTree(root), before);
    });

    it('adopts an object under its own name without copying, idempotently, and never overwrites', async () => {
      const data = Buffer.alloc(2 * MiB, 9);
      await writeFile(join(driver.directory, 'foreign.img'), data);
      const id = randomUUID();
      await driver.adoptObject('foreign.img', 'volume', id);
      assert.equal(await driver.inspectObject('foreign.img'), null);
      assert.deepEqual(await readObject(driver, 'volume', id), data);
      await driver.adoptObject('foreign.img', 'volume', id); // replay after a crash
      assert.deepEqual(await readObject(driver, 'volume', id), data);
      // From the import area, and a snapshot.
      await writeFile(join(driver.directory, 'import', 'snap.img'), data);
      const sid = randomUUID();
      await driver.adoptObject('import/snap.img', 'snapshot', sid);
      assert.deepEqual(await readObject(driver, 'snapshot', sid), data);
      // An existing target is never replaced.
      await writeFile(join(driver.directory, 'other.img'), 'other');
      await rejectsWithCode(driver.adoptObject('other.img', 'volume', id), 'EEXIST');
      assert.deepEqual(await readObject(driver, 'volume', id), data);
      assert.equal((await readFile(join(driver.directory, 'other.img'))).toString(), 'other');
      // Adopting an object under the name it already has changes nothing.
      await driver.adoptObject(`volume-${id}`, 'volume', id);
      assert.deepEqual(await readObject(driver, 'volume', id), data);
      await rejectsWithCode(driver.adoptObject('missing.img', 'volume', randomUUID()), 'ENOENT');
    });

    it('understands only {"source-name": <string>} references, and says why it refuses any other', () => {
      assert.equal(driver.validateManageRef({ 'source-name': 'import/a.img' }), 'import/a.img');
      const bad: unknown[] = ['str', {}, null, [], 42, { 'source-id': 'x' }, { 'source-name': 1 }, { 'source-name': '' }, { 'source-name': 'a', extra: 1 }];
      for (const ref of bad) {
        assert.throws(
          () => driver.validateManageRef(ref),
          (e: unknown) => (e as { code?: unknown }).code === 'EINVAL' && (e as Error).message.length > 0,
          JSON.stringify(ref),
        );
      }
    });

    it('refuses a file with other hard links (its bytes are shared with a name outside its control), touching nothing', async () => {
      const outside = join(root, 'outside.img');
      await writeFile(outside, Buffer.alloc(MiB, 3));
      await link(outside, join(driver.directory, 'import', 'linked.img'));
      await link(outside, join(driver.directory, 'linked-top.img'));
      const before = await snapshotTree(root);
      for (const name of ['import/linked.img', 'linked-top.img']) {
        await rejectsWithCode(driver.inspectObject(name), 'EINVAL');
        await rejectsWithCode(driver.adoptObject(name, 'volume', randomUUID()), 'EINVAL');
        await rejectsWithCode(driver.adoptObject(name, 'snapshot', randomUUID()), 'EINVAL');
      }
      assert.deepEqual(await snapshotTree(root), before);
      assert.equal((await stat(outside)).nlink, 3);
    });

    it('does without an import area, and refuses a symlinked one', async () => {
      await rm(join(driver.directory, 'import'), { recursive: true });
      assert.equal(await driver.inspectObject('import/a.img'), null);
      assert.deepEqual(await driver.listObjects(), []);
      await mkdir(join(root, 'elsewhere'));
      await writeFile(join(root, 'elsewhere', 'a.img'), 'x');
      await symlink(join(root, 'elsewhere'), join(driver.directory, 'import'));
      await rejectsWithCode(driver.inspectObject('import/a.img'), 'EINVAL');
      assert.deepEqual(await driver.listObjects(), []);
      await rejectsWithCode(driver.adoptObject('import/a.img', 'volume', randomUUID()), 'EINVAL');
      assert.equal((await readFile(join(root, 'elsewhere', 'a.img'))).toString(), 'x');
    });

    it('lists the import area with its prefix, but no symlinks or hidden files', async () => {
      await writeFile(join(driver.directory, 'import', 'a.img'), Buffer.alloc(10));
      await writeFile(join(driver.directory, 'import', '.partial'), Buffer.alloc(10));
      await symlink(join(root, 'nowhere'), join(driver.directory, 'import', 'link.img'));
      await symlink(join(root, 'nowhere'), join(driver.directory, 'top-link.img'));
      const names = (await driver.listObjects()).map((o) => o.name);
      assert.deepEqual(names, ['import/a.img']);
    });
  });
}
