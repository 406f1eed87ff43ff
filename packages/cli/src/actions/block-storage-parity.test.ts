import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer, waitFor } from '../../../server/src/test-support/harness.js';
import { adminEnv, Cli } from '../test-support/cli.js';

const HOST = 'cinderbox@raw#raw';
let ts: TestServer;
let cli: Cli;

before(async () => {
  ts = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] });
  cli = new Cli(adminEnv(ts.dataDir));
});
after(async () => ts?.close());

const gone = (kind: 'volume' | 'snapshot', id: string) =>
  waitFor(async () => (await cli.run([kind, 'show', id])).code === 1, `${kind} ${id} gone`);
const status = (kind: 'volume' | 'snapshot' | 'backup', id: string, want: string) =>
  waitFor(async () => (await cli.json([kind, 'show', id])).status === want, `${kind} ${id} ${want}`);

test('volume snapshot … and volume backup … are the same commands as snapshot … and backup …', async () => {
  const v = await cli.json(['volume', 'create', '--size', '1', 'alias-src', '--wait']);
  const s = await cli.json(['volume', 'snapshot', 'create', '--volume', 'alias-src', 'alias-snap', '--wait']);
  assert.equal(s.volume_id, v.id);
  assert.deepEqual(await cli.json(['snapshot', 'list', '--volume', v.id, '-c', 'ID']), [{ ID: s.id }]);
  assert.deepEqual(await cli.json(['volume', 'snapshot', 'list', '--volume', v.id, '-c', 'Name']), [{ Name: 'alias-snap' }]);
  const b = await cli.json(['volume', 'backup', 'create', 'alias-src', '--name', 'alias-backup', '--wait']);
  assert.equal((await cli.json(['backup', 'show', b.id])).name, 'alias-backup');
  await cli.ok(['volume', 'backup', 'delete', b.id, '--wait']);
  await cli.ok(['volume', 'snapshot', 'delete', s.id, '--wait']);
  await cli.ok(['volume', 'delete', v.id, '--wait']);
});

test('volume set --bootable/--non-bootable/--read-only/--read-write/--no-property and snapshot set --no-property', async () => {
  const v = await cli.json(['volume', 'create', '--size', '1', 'flags', '--property', 'a=1', '--property', 'b=2', '--wait']);
  await cli.ok(['volume', 'set', 'flags', '--bootable', '--read-only']);
  let shown = await cli.json(['volume', 'show', v.id]);
  assert.equal(shown.bootable, 'true');
  assert.equal(shown.properties.readonly, 'True');
  await cli.ok(['volume', 'set', 'flags', '--non-bootable', '--read-write', '--no-property', '--property', 'c=3']);
  shown = await cli.json(['volume', 'show', v.id]);
  assert.equal(shown.bootable, 'false');
  assert.deepEqual(shown.properties, { c: '3', readonly: 'False' });
  await cli.ok(['volume', 'set', 'flags', '--no-property']);
  // As in Cinder, the read-only flag is admin metadata shown among the properties; user metadata cannot drop it.
  assert.deepEqual((await cli.json(['volume', 'show', v.id])).properties, { readonly: 'False' });
  const both = await cli.run(['volume', 'set', 'flags', '--bootable', '--non-bootable']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--bootable and --non-bootable exclude each other/);

  const s = await cli.json(['snapshot', 'create', '--volume', 'flags', '--property', 'x=1', '--property', 'y=2', 'flags-snap', '--wait']);
  await cli.ok(['snapshot', 'set', s.id, '--no-property', '--property', 'z=3']);
  assert.deepEqual((await cli.json(['snapshot', 'show', s.id])).properties, { z: '3' });
  await cli.ok(['volume', 'snapshot', 'set', s.id, '--no-property']);
  assert.deepEqual((await cli.json(['snapshot', 'show', s.id])).properties, {});
  await cli.ok(['snapshot', 'delete', s.id, '--wait']);
  await cli.ok(['volume', 'delete', v.id, '--wait']);
});

test('volume/snapshot unmanage, block storage … manageable list, volume/snapshot manage and create --remote-source bring them back', async () => {
  const v = await cli.json(['volume', 'create', '--size', '1', 'managed', '--wait']);
  const s = await cli.json(['snapshot', 'create', '--volume', 'managed', 'managed-snap', '--wait']);

  await cli.ok(['snapshot', 'unmanage', s.id]);
  await gone('snapshot', s.id);
  const snaps = await cli.json(['block', 'storage', 'snapshot', 'manageable', 'list', HOST, '--long']);
  const snapRef = { 'source-name': `_snapshot-${s.id}` };
  assert.deepEqual(
    snaps.find((e: any) => e.reference['source-name'] === snapRef['source-name']),
    {
      reference: snapRef,
      size: 1,
      safe_to_manage: true,
      source_reference: { 'source-name': `volume-${v.id}` },
      reason_not_safe: null,
      cinder_id: null,
      extra_info: null,
    },
  );
  const back = await cli.json(['volume', 'snapshot', 'manage', 'managed', snapRef['source-name'], '--name', 'adopted', '--property', 'k=v']);
  assert.equal(back.name, 'adopted');
  await status('snapshot', back.id, 'available');
  assert.deepEqual((await cli.json(['snapshot', 'show', back.id])).properties, { k: 'v' });
  // OSC's spelling: snapshot create --remote-source.
  await cli.ok(['volume', 'snapshot', 'unmanage', 'adopted']);
  await gone('snapshot', back.id);
  const again = await cli.json(['snapshot', 'create', '--volume', 'managed', '--remote-source', `source-name=_snapshot-${back.id}`, 'again', '--wait']);
  assert.equal(again.status, 'available');
  await cli.ok(['snapshot', 'delete', again.id, '--wait']);

  await cli.ok(['volume', 'unmanage', v.id]);
  await gone('volume', v.id);
  const brief = await cli.json(['block', 'storage', 'volume', 'manageable', 'list', HOST, '--sort', 'size:desc,reference']);
  assert.deepEqual(
    brief.find((e: any) => e.reference['source-name'] === `volume-${v.id}`),
    { reference: { 'source-name': `volume-${v.id}` }, size: 1, safe_to_manage: true },
  );
  const badSort = await cli.run(['block', 'storage', 'volume', 'manageable', 'list', HOST, '--sort', 'name']);
  assert.equal(badSort.code, 2);
  assert.match(badSort.stderr, /keys: size, reference/);
  const neither = await cli.run(['block', 'storage', 'volume', 'manageable', 'list']);
  assert.equal(neither.code, 2);
  assert.match(neither.stderr, /give either a host or --cluster/);
  const m = await cli.json(['volume', 'manage', HOST, `volume-${v.id}`, '--name', 'again', '--bootable']);
  assert.notEqual(m.id, v.id);
  await status('volume', m.id, 'available');
  assert.equal((await cli.json(['volume', 'show', 'again'])).bootable, 'true');
  // OSC's spelling: volume create --remote-source --host.
  await cli.ok(['volume', 'unmanage', 'again']);
  await gone('volume', m.id);
  const noHost = await cli.run(['volume', 'create', '--remote-source', `source-name=volume-${m.id}`, 'third']);
  assert.equal(noHost.code, 2);
  assert.match(noHost.stderr, /--remote-source needs --host/);
  const third = await cli.json(['volume', 'create', '--remote-source', `source-name=volume-${m.id}`, '--host', HOST, 'third', '--wait']);
  assert.deepEqual([third.name, third.status, third.size], ['third', 'available', 1]);
  const missing = await cli.run(['volume', 'unmanage', 'no-such-volume']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No volume with a name or ID of 'no-such-volume' exists/);
  await cli.ok(['volume', 'delete', third.id, '--wait']);
});

test('volume revert goes back to the latest snapshot; an older one is refused', async () => {
  const v = await cli.json(['volume', 'create', '--size', '1', 'rev', '--wait']);
  const older = await cli.json(['snapshot', 'create', '--volume', 'rev', 'rev-1', '--wait']);
  const latest = await cli.json(['snapshot', 'create', '--volume', 'rev', 'rev-2', '--wait']);
  const refused = await cli.run(['volume', 'revert', older.id]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /HTTP 400/);
  await cli.ok(['volume', 'revert', 'rev-2']);
  await status('volume', v.id, 'available');
  for (const id of [latest.id, older.id]) await cli.ok(['snapshot', 'delete', id, '--wait']);
  await cli.ok(['volume', 'delete', v.id, '--wait']);
});

test('volume backup record export, and backup record import of that record under a new id', async () => {
  await cli.json(['volume', 'create', '--size', '1', 'rec-src', '--wait']);
  const b = await cli.json(['backup', 'create', 'rec-src', '--name', 'to-export', '--wait']);
  const rec = await cli.json(['volume', 'backup', 'record', 'export', 'to-export']);
  assert.deepEqual(Object.keys(rec), ['backup_service', 'backup_url']);
  const table = await cli.ok(['backup', 'record', 'export', 'to-export']);
  assert.match(table, /\| Backup Service \| /);
  assert.match(table, /\| Metadata +\| /);
  const body = JSON.parse(Buffer.from(rec.backup_url, 'base64').toString('utf8'));
  assert.equal(body.id, b.id);
  const copyId = randomUUID();
  const url = Buffer.from(JSON.stringify({ ...body, id: copyId })).toString('base64');
  const imported = await cli.json(['backup', 'record', 'import', rec.backup_service, url]);
  assert.deepEqual(imported, { id: copyId, name: 'to-export' });
  await status('backup', copyId, 'available');
  const bad = await cli.run(['backup', 'record', 'import', rec.backup_service, 'not-base64!']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /HTTP 400/);
});

test('limits show, availability zone list and block storage resource filter list/show', async () => {
  await cli.json(['volume', 'create', '--size', '2', 'counted', '--wait']);
  const absolute = await cli.json(['limits', 'show', '--absolute']);
  const byName = Object.fromEntries(absolute.map((r: any) => [r.Name, r.Value]));
  assert.ok(byName.totalGigabytesUsed >= 2, JSON.stringify(byName));
  assert.ok('maxTotalVolumes' in byName);
  assert.deepEqual(await cli.json(['limits', 'show', '--rate']), []);
  const neither = await cli.run(['limits', 'show']);
  assert.equal(neither.code, 2);

  assert.deepEqual(await cli.json(['availability', 'zone', 'list', '--volume']), [{ 'Zone Name': 'nova', 'Zone Status': 'available' }]);
  assert.deepEqual(await cli.json(['availability', 'zone', 'list', '--compute']), []);

  const filters = await cli.json(['block', 'storage', 'resource', 'filter', 'list']);
  assert.ok(filters.some((f: any) => f.Resource === 'backup' && f.Filters === 'name, status, volume_id'), JSON.stringify(filters));
  assert.deepEqual(await cli.json(['block', 'storage', 'resource', 'filter', 'show', 'group']), { Resource: 'group', Filters: 'name' });
  const unknown = await cli.run(['block', 'storage', 'resource', 'filter', 'show', 'nothing']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /No resource filter for 'nothing' exists/);
});
