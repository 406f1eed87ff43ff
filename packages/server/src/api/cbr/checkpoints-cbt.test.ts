/**
 * CBR incrementals with changed-block tracking: a CBR backup keeps its hidden snapshot as the base its vault's
 * next backup of the disk compares against, so a second checkpoint after changing 1 % of a volume reads only the
 * changed chunks; both checkpoints restore byte-exact; one base per disk and vault is kept, and deleting the
 * backup, its vault or the volume leaves no base file on the backend. Run with the qcow2 driver and with the raw
 * driver on a reflink filesystem (a loop-mounted XFS image, skipped with the reason where it cannot be made).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { VolumeDriver } from '../../domain/ports/volume-driver.js';
import { probeQemuImg } from '../../drivers/volume/qcow2/qemu.js';
import { mountXfsLoop, type XfsLoop } from '../../drivers/volume/xfs-loop.js';
import { startTestServer, type TestServer, waitFor } from '../../test-support/harness.js';
import { BackupApi, volumeDigest } from '../block-storage/test-support/backup-api.js';
import { admin, backupsOf, type Caller, cbr, checkpoint, createVault, createVolume, waitVolume } from './test-support/cbr.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const qemu = probeQemuImg();

interface Setup {
  t: TestServer;
  who: Caller;
  driver: VolumeDriver;
  chunk: number;
}

async function startWith(driver: 'raw' | 'qcow2', dataDir?: string): Promise<Setup> {
  const t = await startTestServer({ backends: [{ name: driver, driver, pool: driver }] }, dataDir);
  const d = t.server.services.drivers.get(driver);
  assert.ok(d, `driver ${driver} loaded`);
  return { t, who: admin(t), driver: d, chunk: t.server.services.backups.repo.chunkSize };
}

/** The guest bytes of a volume, hashed in canonical sparse form (equal digests = equal bytes). */
async function digest(driver: VolumeDriver, volumeId: string): Promise<string> {
  const exported = await driver.exportRaw('volume', volumeId);
  try {
    return await volumeDigest(exported.path);
  } finally {
    await exported.release();
  }
}

async function write(driver: VolumeDriver, volumeId: string, offset: number, bytes: Buffer): Promise<void> {
  await driver.writeRaw(volumeId, Readable.from([bytes]), offset);
}

/**
 * Changes about 1 % of a 1 GiB volume: one random (never all-zero) 1 MiB block inside each of `n` distinct chunks
 * (never the last), so the changed chunks are exactly those. Returns their count.
 */
async function changeOnePercent(s: Setup, volumeId: string, n = 10): Promise<number> {
  const chunks = new Set<number>();
  while (chunks.size < n) chunks.add(randomInt(0, GiB / s.chunk - 1));
  for (const c of chunks) {
    const offset = c * s.chunk + 4096 * randomInt(0, (s.chunk - MiB) / 4096 + 1);
    await write(s.driver, volumeId, offset, randomBytes(MiB));
  }
  return chunks.size;
}

/** Hidden snapshots in the backend: driver objects named like snapshots that no snapshot row owns. */
async function hiddenSnapshots(driver: VolumeDriver): Promise<string[]> {
  return (await driver.listObjects()).map((o) => o.name).filter((n) => n.startsWith('_snapshot-'));
}

async function readBytes(s: Setup, vaultId: string, backupId: string): Promise<number> {
  const m = await s.t.server.services.backups.repo.readManifest(`cbr-${vaultId}/${backupId}`);
  return m.header.stats.readBytes;
}

/** A checkpoint of the vault that must succeed; its one backup. */
async function backUp(s: Setup, vaultId: string): Promise<any> {
  const { created, done } = await checkpoint(s.t, s.who, vaultId);
  assert.equal(done.status, 'available', JSON.stringify(done));
  const [b] = await backupsOf(s.t, s.who, `checkpoint_id=${created.id}`);
  assert.ok(b, 'the checkpoint made one backup');
  return b;
}

/** Restores a backup into a fresh volume and hashes it. */
async function restoredDigest(s: Setup, backupId: string): Promise<string> {
  const target = await createVolume(s.t, s.who, 'cbt-restore', 1);
  const r = await cbr(s.t, s.who, 'POST', `/backups/${backupId}/restore`, { restore: { volume_id: target } });
  assert.equal(r.status, 202, r.text);
  await waitFor(async () => {
    const v = await s.t.request('GET', `/v3/${s.who.projectId}/volumes/${target}`, { token: s.who.token });
    if (v.body.volume.status === 'error_restoring') throw new Error(`restore of ${backupId} failed`);
    return v.body.volume.status === 'available';
  }, `restore of ${backupId}`, 120_000);
  const sha = await digest(s.driver, target);
  const del = await s.t.request('DELETE', `/v3/${s.who.projectId}/volumes/${target}`, { token: s.who.token });
  assert.equal(del.status, 202, del.text);
  return sha;
}

async function deleteVolume(s: Setup, id: string): Promise<void> {
  const r = await s.t.request('DELETE', `/v3/${s.who.projectId}/volumes/${id}`, { token: s.who.token });
  assert.equal(r.status, 202, r.text);
  await waitFor(
    async () => (await s.t.request('GET', `/v3/${s.who.projectId}/volumes/${id}`, { token: s.who.token })).status === 404,
    `volume ${id} deleted`,
  );
}

/** Full, then an incremental after changing 1 %: it reads the changed chunks only; both restore byte-exact. */
async function incrementalReadsChangedChunks(s: Setup): Promise<void> {
  const { driver } = s;
  const vol = await createVolume(s.t, s.who, 'cbt-cbr', 1);
  await write(driver, vol, 0, randomBytes(6 * MiB));
  await write(driver, vol, 512 * MiB, randomBytes(3 * MiB));
  await write(driver, vol, GiB - 64 * 1024, randomBytes(64 * 1024));
  const vault = await createVault(s.t, s.who, 'cbt-vault', [vol]);
  const before = new Set(await hiddenSnapshots(driver));
  const fullSha = await digest(driver, vol);
  const full = await backUp(s, vault.id);
  assert.ok((await readBytes(s, vault.id, full.id)) >= 3 * s.chunk, 'the full backup reads every allocated chunk');
  const ours = () => hiddenSnapshots(driver).then((names) => names.filter((n) => !before.has(n)));
  assert.equal((await ours()).length, 1, 'the full backup keeps its snapshot as a base');

  const changed = await changeOnePercent(s, vol);
  const incSha = await digest(driver, vol);
  const inc = await backUp(s, vault.id);
  assert.equal(inc.extend_info.incremental, true);
  assert.equal(await readBytes(s, vault.id, inc.id), changed * s.chunk, `only the ${changed} changed chunks are read`);
  assert.equal((await ours()).length, 1, 'one base per disk and vault: the older one was dropped');
  assert.equal(
    (await s.t.request('GET', `/v3/${s.who.projectId}/snapshots`, { token: s.who.token })).body.snapshots.length,
    0,
    'no snapshot row is visible',
  );

  assert.equal(await restoredDigest(s, full.id), fullSha, 'the full checkpoint restores the volume at its time');
  assert.equal(await restoredDigest(s, inc.id), incSha, 'the incremental checkpoint restores the volume at its time');

  // The base goes with the backup that holds it; the next incremental then compares the data.
  const del = await cbr(s.t, s.who, 'DELETE', `/backups/${inc.id}`);
  assert.equal(del.status, 204, del.text);
  await waitFor(async () => (await cbr(s.t, s.who, 'GET', `/backups/${inc.id}`)).status === 404, 'backup deleted');
  assert.deepEqual(await ours(), [], 'a deleted CBR backup leaves no base behind');
  await write(driver, vol, 8 * MiB, randomBytes(4096));
  const sha = await digest(driver, vol);
  const fallback = await backUp(s, vault.id);
  assert.ok((await readBytes(s, vault.id, fallback.id)) >= 3 * s.chunk, 'a parent without base: every allocated chunk is read');
  assert.equal(await restoredDigest(s, fallback.id), sha);

  // A deleted volume takes its bases along; its backups stay restorable.
  assert.equal((await ours()).length, 1);
  await deleteVolume(s, vol);
  assert.deepEqual(await ours(), [], 'a deleted volume leaves no base behind');
  assert.ok(!(await driver.listObjects()).some((o) => o.name.includes(vol)), 'nothing of the volume remains');
  assert.equal(await restoredDigest(s, fallback.id), sha);
}

/** Deleting a vault removes its backups' bases. */
async function vaultDeleteDropsBases(s: Setup): Promise<void> {
  const { driver } = s;
  const vol = await createVolume(s.t, s.who, 'cbt-vault-delete', 1);
  await write(driver, vol, 0, randomBytes(2 * MiB));
  const before = new Set(await hiddenSnapshots(driver));
  const vault = await createVault(s.t, s.who, 'cbt-doomed', [vol]);
  await backUp(s, vault.id);
  const ours = () => hiddenSnapshots(driver).then((names) => names.filter((n) => !before.has(n)));
  assert.equal((await ours()).length, 1);
  const r = await cbr(s.t, s.who, 'DELETE', `/vaults/${vault.id}`);
  assert.equal(r.status, 204, r.text);
  await waitFor(async () => (await cbr(s.t, s.who, 'GET', `/vaults/${vault.id}`)).status === 404, 'vault deleted');
  assert.deepEqual(await ours(), [], 'a deleted vault leaves no base behind');
  await waitVolume(s.t, s.who, vol, 'available');
  await deleteVolume(s, vol);
}

/** A CBR backup that fails removes its snapshot; the earlier base stays, so the next one still reads only changes. */
async function failedBackupDropsSnapshot(s: Setup): Promise<void> {
  const { driver } = s;
  const vol = await createVolume(s.t, s.who, 'cbt-fail', 1);
  await write(driver, vol, 0, randomBytes(2 * MiB));
  const vault = await createVault(s.t, s.who, 'cbt-fail-vault', [vol]);
  await backUp(s, vault.id);
  const before = await hiddenSnapshots(driver);
  const repo = s.t.server.services.backups.repo;
  const original = repo.backup;
  repo.backup = async () => {
    throw new Error('injected repository failure');
  };
  try {
    const { done } = await checkpoint(s.t, s.who, vault.id);
    assert.equal(done.status, 'error');
  } finally {
    repo.backup = original;
  }
  assert.deepEqual(await hiddenSnapshots(driver), before, 'the failed backup left no hidden snapshot');
  await write(driver, vol, 8 * MiB, randomBytes(4096));
  const sha = await digest(driver, vol);
  const inc = await backUp(s, vault.id);
  assert.equal(await readBytes(s, vault.id, inc.id), s.chunk, 'one changed chunk read');
  assert.equal(await restoredDigest(s, inc.id), sha);
}

/**
 * A volume backed up by Cinder and by CBR keeps one base for each: neither kind's bookkeeping drops the other's,
 * and both incrementals read only what changed.
 */
async function cinderAndCbrBasesCoexist(s: Setup): Promise<void> {
  const { driver } = s;
  const api = new BackupApi(s.t);
  const vol = await createVolume(s.t, s.who, 'cbt-both', 1);
  await write(driver, vol, 0, randomBytes(4 * MiB));
  await write(driver, vol, 256 * MiB, randomBytes(4 * MiB));
  const before = new Set(await hiddenSnapshots(driver));
  const ours = () => hiddenSnapshots(driver).then((names) => names.filter((n) => !before.has(n)));
  const vault = await createVault(s.t, s.who, 'cbt-both', [vol]);
  await backUp(s, vault.id);
  const cinderFull = await api.backup(s.who, { volume_id: vol });
  await api.backupStatus(s.who, cinderFull, 'available');
  await api.volumeStatus(s.who, vol, 'available');
  assert.equal((await ours()).length, 2, 'one Cinder base and one CBR base');

  const changed = await changeOnePercent(s, vol, 3);
  const sha = await digest(driver, vol);
  const inc = await backUp(s, vault.id);
  assert.equal(await readBytes(s, vault.id, inc.id), changed * s.chunk, 'the CBR incremental reads the changed chunks');
  const cinderInc = await api.backup(s.who, { volume_id: vol, incremental: true });
  await api.backupStatus(s.who, cinderInc, 'available');
  await api.volumeStatus(s.who, vol, 'available');
  const m = await s.t.server.services.backups.repo.readManifest(`backups/${cinderInc}`);
  assert.equal(m.header.stats.readBytes, changed * s.chunk, 'the Cinder incremental reads the changed chunks');
  assert.equal((await ours()).length, 2, 'still one base of each kind');
  assert.equal(await restoredDigest(s, inc.id), sha);
  assert.equal(await digest(driver, await api.restore(s.who, cinderInc)), sha);
}

/** Unmanaging a volume hands its file over without CBR bases: merged back (qcow2) or dropped (raw). */
async function unmanageDropsCbrBase(s: Setup): Promise<void> {
  const { driver } = s;
  const vol = await createVolume(s.t, s.who, 'cbt-unmanage', 1);
  await write(driver, vol, 0, randomBytes(MiB));
  const before = new Set(await hiddenSnapshots(driver));
  const ours = () => hiddenSnapshots(driver).then((names) => names.filter((n) => !before.has(n)));
  const vault = await createVault(s.t, s.who, 'cbt-unmanage', [vol]);
  const b = await backUp(s, vault.id);
  const atBackup = await digest(driver, vol);
  assert.equal((await ours()).length, 1);
  await write(driver, vol, 5 * MiB, randomBytes(8192));
  const sha = await digest(driver, vol);
  const r = await s.t.request('POST', `/v3/${s.who.projectId}/volumes/${vol}/action`, {
    token: s.who.token,
    body: { 'os-unmanage': null },
  });
  assert.equal(r.status, 202, r.text);
  await waitFor(
    async () => (await s.t.request('GET', `/v3/${s.who.projectId}/volumes/${vol}`, { token: s.who.token })).status === 404,
    `volume ${vol} unmanaged`,
  );
  assert.deepEqual(await ours(), [], 'the CBR base did not stay behind the unmanaged volume');
  assert.equal(await digest(driver, vol), sha, 'the unmanaged file holds the volume bytes');
  assert.equal(await restoredDigest(s, b.id), atBackup, 'the CBR backup stays restorable without its base');
}

describe('CBR incrementals with CBT on qcow2', { skip: qemu.available ? false : qemu.detail }, () => {
  let s: Setup;
  before(async () => {
    s = await startWith('qcow2');
  });
  after(async () => s?.t.close());

  test('a checkpoint after changing 1 % reads only the changed chunks; both restore byte-exact; no base outlives its backup or volume', async () => {
    await incrementalReadsChangedChunks(s);
  });

  test('deleting a vault removes its backups’ bases', async () => {
    await vaultDeleteDropsBases(s);
  });

  test('a failed CBR backup removes its snapshot and keeps the previous base', async () => {
    await failedBackupDropsSnapshot(s);
  });

  test('Cinder and CBR bases of one volume live side by side; both incrementals read only changes', async () => {
    await cinderAndCbrBasesCoexist(s);
  });

  test('unmanaging a volume merges its CBR base back: no layer stays, the file keeps the bytes', async () => {
    await unmanageDropsCbrBase(s);
  });
});

describe('CBR incrementals with CBT on raw over reflink (XFS loop mount)', () => {
  let loop: XfsLoop | null = null;
  let skipped = '';
  let s: Setup | undefined;
  before(async () => {
    const r = await mountXfsLoop(4);
    if ('skipped' in r) {
      skipped = r.skipped;
      console.log(`# raw CBT checkpoints on XFS skipped: ${skipped}`);
      return;
    }
    loop = r;
    s = await startWith('raw', join(loop.mountPoint, 'data'));
  });
  after(async () => {
    await s?.t.close();
    await loop?.release();
  });

  test('a checkpoint after changing 1 % reads only the changed chunks; both restore byte-exact; no base outlives its backup or volume', async (t) => {
    if (!s) return t.skip(skipped);
    assert.equal(s.driver.capabilities.snapshotMethod, 'reflink');
    await incrementalReadsChangedChunks(s);
  });

  test('deleting a vault removes its backups’ bases', async (t) => {
    if (!s) return t.skip(skipped);
    await vaultDeleteDropsBases(s);
  });

  test('Cinder and CBR bases of one volume live side by side; both incrementals read only changes', async (t) => {
    if (!s) return t.skip(skipped);
    await cinderAndCbrBasesCoexist(s);
  });

  test('unmanaging a volume drops its CBR base: no copy stays, the file keeps the bytes', async (t) => {
    if (!s) return t.skip(skipped);
    await unmanageDropsCbrBase(s);
  });
});
