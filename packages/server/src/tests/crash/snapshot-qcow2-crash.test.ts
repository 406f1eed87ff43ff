import assert from 'node:assert/strict';
import { mkdtemp, open, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { pattern } from '../../drivers/volume/conformance.js';
import { probeQemuImg, qemuImg } from '../../drivers/volume/qcow2/qemu.js';
import { CrashApi, kill, startChild } from './crash-support.js';

const BURST = 24;
const qemu = probeQemuImg();

let dataDir = '';
let live: CrashApi | null = null;
after(async () => {
  // A failed assertion must not leave the child serving (the runner would wait for it).
  if (live && live.c.proc.exitCode === null) await kill(live.c);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/**
 * The qcow2 driver takes concurrent creates of one volume as a batch (links and renames back to back, one
 * directory flush): a SIGKILL anywhere in such a burst must leave a valid chain, every snapshot available with the
 * volume's bytes or in error with no file, and the volume's own bytes intact.
 */
for (const when of ['first', 'all'] as const) {
  test(`a burst of concurrent qcow2 snapshot creates cut by SIGKILL (once ${when === 'first' ? 'the first is' : 'all are'} accepted) leaves a valid chain and no half-made snapshot`, {
    timeout: 300_000,
    skip: qemu.available ? false : qemu.detail,
  }, (t) => burst(t, when));
}

/**
 * A snapshot batch flushes its overlays after renaming them into place (the overlay's data and the directory in
 * one round), so a power cut in that round can keep the renames but lose an overlay's bytes. A SIGKILL cannot lose
 * the page cache, so the test kills the server and then tears the layers as such a power cut would (the active
 * layer emptied, the newest snapshot's header zeroed), leaving the claims the batch had written: the next start
 * must rewrite both before it serves, and the volume and every snapshot read their exact bytes.
 */
test('overlays a power cut tore after their rename are rewritten at start from their claims', {
  timeout: 300_000,
  skip: qemu.available ? false : qemu.detail,
}, async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  dataDir = await mkdtemp(join(tmpdir(), 'cinderbox-crash-'));
  let a = new CrashApi(await startChild(dataDir, 'qcow2'));
  live = a;
  await a.login();
  const vol = await a.call('POST', `/volumes`, { volume: { size: 1, name: 'torn' } });
  assert.equal(vol.status, 202);
  const volId = vol.body.volume.id as string;
  await a.until('volumes', volId, 'available');
  const data = pattern(256 * 1024, 33);
  const up = await a.call('PUT', `/volumes/${volId}/cinderbox-data`, undefined, data);
  assert.ok(up.status >= 200 && up.status < 300, JSON.stringify(up.body));
  const snaps: string[] = [];
  for (let i = 0; i < 3; i++) {
    const s = await a.call('POST', `/snapshots`, { snapshot: { volume_id: volId } });
    assert.equal(s.status, 202, JSON.stringify(s.body));
    snaps.push(s.body.snapshot.id as string);
    await a.poll(async () => (await a.call('GET', `/snapshots/${snaps[i]}`)).body.snapshot.status === 'available', 'snapshot available');
  }
  await kill(a.c);

  const backendDir = join(dataDir, 'volumes', 'qcow2');
  const active = `volume-${volId}`;
  const [, s2, s3] = snaps.map((id) => `_snapshot-${id}`);
  const size = 1024 * 1024 * 1024;
  await writeFile(join(backendDir, `.overlay+${size}+${s3}+${active}`), '');
  await writeFile(join(backendDir, `.overlay+${size}+${s2}+${active}+${s3}`), '');
  await truncate(join(backendDir, active), 0);
  const fh = await open(join(backendDir, s3!), 'r+');
  await fh.write(Buffer.alloc(4096), 0, 4096, 0);
  await fh.close();

  a = new CrashApi(await startChild(dataDir, 'qcow2'));
  live = a;
  await a.login();
  const files = await readdir(backendDir);
  assert.deepEqual(files.filter((n) => n.startsWith('.overlay+')), [], 'the claims are used up');
  const read = async (kind: 'volumes' | 'snapshots', id: string) => {
    const r = await fetch(`${a.c.url}${a.base}/${kind}/${id}/cinderbox-data`, {
      headers: { 'X-Auth-Token': a.token, Range: `bytes=0-${data.length - 1}` },
    });
    assert.equal(r.status, 206, `${kind} ${id}: ${r.status} ${r.status === 206 ? '' : await r.text()}`);
    return Buffer.from(await r.arrayBuffer());
  };
  assert.deepEqual(await read('volumes', volId), data, 'the volume reads its bytes');
  for (const id of snaps) assert.deepEqual(await read('snapshots', id), data, `snapshot ${id}`);
  const check = JSON.parse(await qemuImg(['check', '--output=json', join(backendDir, active)]).catch((e) => e.stderr));
  assert.equal(check.corruptions ?? 0, 0, 'the chain checks clean');
  const info = JSON.parse(await qemuImg(['info', '-U', '--output=json', '--backing-chain', join(backendDir, active)]));
  assert.equal(info.length, 4, 'one line: the active layer over the three snapshots');
  for (const id of snaps) assert.equal((await a.call('DELETE', `/snapshots/${id}`)).status, 202);
  await a.poll(async () => ((await a.call('GET', `/snapshots?limit=1000`)).body.snapshots as unknown[]).length === 0, 'all deleted');
  assert.deepEqual(await read('volumes', volId), data, 'the volume keeps its bytes once its snapshots are merged');
  const exited = new Promise((r) => a.c.proc.once('exit', r));
  a.c.proc.kill('SIGTERM');
  await exited;
});

async function burst(t: TestContext, when: 'first' | 'all'): Promise<void> {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  dataDir = await mkdtemp(join(tmpdir(), 'cinderbox-crash-'));
  let a = new CrashApi(await startChild(dataDir, 'qcow2'));
  live = a;
  await a.login();
  const project = a.base.split('/')[2];
  const q = await a.call('PUT', `/os-quota-sets/${project}`, { quota_set: { snapshots: -1 } });
  assert.equal(q.status, 200, JSON.stringify(q.body));
  const vol = await a.call('POST', `/volumes`, { volume: { size: 1, name: 'burst' } });
  assert.equal(vol.status, 202);
  const volId = vol.body.volume.id as string;
  await a.until('volumes', volId, 'available');
  const data = pattern(256 * 1024, 21);
  const up = await a.call('PUT', `/volumes/${volId}/cinderbox-data`, undefined, data);
  assert.ok(up.status >= 200 && up.status < 300, JSON.stringify(up.body));

  // A first burst completes, so the chain already has depth when the second one is cut.
  const create = async () => {
    const s = await a.call('POST', `/snapshots`, { snapshot: { volume_id: volId } });
    assert.equal(s.status, 202, JSON.stringify(s.body));
    return s.body.snapshot.id as string;
  };
  const done = await Promise.all(Array.from({ length: BURST / 2 }, create));
  await a.poll(async () => {
    const l = (await a.call('GET', `/snapshots?limit=1000`)).body.snapshots as { status: string }[];
    return l.length === done.length && l.every((s) => s.status === 'available');
  }, 'first burst available');
  // Killed as soon as the first create of the second burst is accepted (the others in flight: some never
  // committed, some committed but not taken, some in the driver's batch), or once all are (tasks under way, some
  // already available with their task row not yet removed).
  const cutting = Array.from({ length: BURST }, () => create().catch(() => null));
  await (when === 'first' ? Promise.race(cutting) : Promise.all(cutting));
  await kill(a.c);
  const accepted = (await Promise.all(cutting)).filter((id): id is string => id !== null);

  a = new CrashApi(await startChild(dataDir, 'qcow2'));
  live = a;
  await a.login();
  const final = await a.poll(async () => {
    const l = (await a.call('GET', `/snapshots?limit=1000`)).body.snapshots as { id: string; status: string }[];
    return l.every((s) => s.status !== 'creating') ? new Map(l.map((s) => [s.id, s.status])) : null;
  }, 'every snapshot settled');
  for (const id of accepted) assert.ok(final.has(id), `accepted snapshot ${id} is listed`);
  const cut = [...final.keys()].filter((id) => !done.includes(id));
  for (const id of done) assert.equal(final.get(id), 'available', `snapshot ${id} finished before the kill`);
  const backendDir = join(dataDir, 'volumes', 'qcow2');
  const files = await readdir(backendDir);
  assert.deepEqual(files.filter((n) => n.startsWith('.tmp-')), [], 'no temporaries left');
  const read = async (kind: 'volumes' | 'snapshots', id: string) => {
    const r = await fetch(`${a.c.url}${a.base}/${kind}/${id}/cinderbox-data`, {
      headers: { 'X-Auth-Token': a.token, Range: `bytes=0-${data.length - 1}` },
    });
    assert.equal(r.status, 206, `${kind} ${id}: ${r.status} ${r.status === 206 ? '' : await r.text()}`);
    return Buffer.from(await r.arrayBuffer());
  };
  for (const id of [...done, ...cut]) {
    const status = final.get(id);
    assert.ok(status === 'available' || status === 'error', `${id}: ${status}`);
    if (status === 'error') assert.ok(!files.includes(`_snapshot-${id}`), `errored snapshot ${id} left its layer`);
    else assert.deepEqual(await read('snapshots', id), data, `snapshot ${id} (${status})`);
  }
  assert.deepEqual(await read('volumes', volId), data, 'the volume keeps its bytes');
  const check = JSON.parse(await qemuImg(['check', '--output=json', join(backendDir, `volume-${volId}`)]).catch((e) => e.stderr));
  assert.equal(check.corruptions ?? 0, 0, 'the chain checks clean');
  const info = JSON.parse(await qemuImg(['info', '-U', '--output=json', '--backing-chain', join(backendDir, `volume-${volId}`)]));
  const available = [...final.values()].filter((s) => s === 'available').length;
  t.diagnostic(`of the burst cut by the kill: ${accepted.length} accepted before it; after restart ${available - done.length} available, ${done.length + cut.length - available} in error`);
  assert.equal(info.length, available + 1, 'one layer per available snapshot under the active one');

  // Everything can be deleted afterwards, and the volume still reads its bytes.
  for (const id of [...done, ...cut]) assert.equal((await a.call('DELETE', `/snapshots/${id}`)).status, 202);
  await a.poll(async () => ((await a.call('GET', `/snapshots?limit=1000`)).body.snapshots as unknown[]).length === 0, 'all deleted');
  assert.deepEqual(await read('volumes', volId), data);
  const exited = new Promise((r) => a.c.proc.once('exit', r));
  a.c.proc.kill('SIGTERM');
  await exited;
}
