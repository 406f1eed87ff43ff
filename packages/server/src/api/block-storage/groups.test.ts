import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer, waitFor } from '../../test-support/harness.js';
import { readRound, roundsDone, startSequenceWriter } from '../../test-support/sequence-writer.js';

const GiB = 1024 ** 3;
const MV = '3.64';

describe('generic volume groups, group types and group snapshots', () => {
  let ts: TestServer;
  let pid: string;
  let member: { projectId: string; token: string };
  const v3 = (path: string) => `/v3/${pid}${path}`;
  const req = (method: string, path: string, body?: unknown, mv = MV, token?: string) =>
    ts.request(method, v3(path), { token: token ?? ts.adminToken, body, mv });

  async function volume(name: string): Promise<string> {
    const r = await req('POST', '/volumes', { volume: { size: 1, name } });
    assert.equal(r.status, 202, r.text);
    const id = r.body.volume.id as string;
    await waitFor(async () => (await req('GET', `/volumes/${id}`)).body.volume.status === 'available', `volume ${id}`);
    return id;
  }

  async function groupType(name: string): Promise<string> {
    const r = await req('POST', '/group_types', { group_type: { name, group_specs: { consistent_group_snapshot_enabled: '<is> True' } } });
    assert.equal(r.status, 202, r.text);
    return r.body.group_type.id;
  }

  async function group(name: string, type: string): Promise<string> {
    const r = await req('POST', '/groups', { group: { name, group_type: type, volume_types: ['__DEFAULT__'] } });
    assert.equal(r.status, 202, r.text);
    return r.body.group.id;
  }

  before(async () => {
    ts = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] });
    pid = ts.adminProjectId;
    member = await ts.createMember('group-member');
  });
  after(async () => ts.close());

  it('group types: created, shown with their specs to admins, renamed, refused to members, and not deleted while a group uses them', async () => {
    const id = await groupType('gt-one');
    const shown = await req('GET', `/group_types/${id}`);
    assert.deepEqual(shown.body.group_type, {
      id,
      name: 'gt-one',
      description: null,
      is_public: true,
      group_specs: { consistent_group_snapshot_enabled: '<is> True' },
    });
    assert.equal((await req('POST', '/group_types', { group_type: { name: 'gt-one' } })).status, 409);
    const below = await req('GET', '/group_types', undefined, '3.10');
    assert.equal(below.status, 404);
    const byMember = await ts.request('POST', `/v3/${member.projectId}/group_types`, { token: member.token, mv: MV, body: { group_type: { name: 'x' } } });
    assert.equal(byMember.status, 403);
    assert.equal(byMember.body.forbidden.message, "Policy doesn't allow group:group_types:create to be performed.");
    const seen = await ts.request('GET', `/v3/${member.projectId}/group_types/${id}`, { token: member.token, mv: MV });
    assert.equal(seen.status, 200);
    assert.equal(seen.body.group_type.group_specs, undefined);

    const put = await req('PUT', `/group_types/${id}`, { group_type: { name: 'gt-renamed', description: 'd' } });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.group_type.name, 'gt-renamed');
    assert.equal((await req('POST', `/group_types/${id}/group_specs`, { group_specs: { k: 'v' } })).status, 202);
    assert.deepEqual((await req('GET', `/group_types/${id}/group_specs/k`)).body, { k: 'v' });
    assert.equal((await req('DELETE', `/group_types/${id}/group_specs/k`)).status, 202);
    assert.equal((await req('GET', `/group_types/${id}/group_specs/k`)).status, 404);

    const g = await group('uses-type', id);
    const refused = await req('DELETE', `/group_types/${id}`);
    assert.equal(refused.status, 400);
    assert.match(refused.body.badRequest.message, /deletion is not allowed with groups present/);
    assert.equal((await req('POST', `/groups/${g}/action`, { delete: {} })).status, 202);
    assert.equal((await req('DELETE', `/group_types/${id}`)).status, 202);
    assert.equal((await req('GET', `/group_types/${id}`)).status, 404);
  });

  it('groups: members added and removed with Cinder checks, shown in the group (3.25) and the volume (3.13), and counted in the groups quota', async () => {
    const type = await groupType('gt-members');
    const usage = async () => (await req('GET', `/os-quota-sets/${pid}?usage=true`)).body.quota_set.groups.in_use as number;
    const before = await usage();
    const g = await group('members', type);
    assert.equal(await usage(), before + 1);
    const a = await volume('m-a');
    const b = await volume('m-b');
    const add = await req('PUT', `/groups/${g}`, { group: { add_volumes: `${a},${b}` } });
    assert.equal(add.status, 202, add.text);
    const shown = await req('GET', `/groups/${g}?list_volume=True`);
    assert.equal(shown.body.group.status, 'available');
    assert.deepEqual([...shown.body.group.volumes].sort(), [a, b].sort());
    assert.deepEqual(shown.body.group.volume_types.length, 1);
    assert.equal((await req('GET', `/volumes/${a}`)).body.volume.group_id, g);
    const filtered = (await req('GET', `/volumes?group_id=${g}`)).body.volumes.map((v: any) => v.id);
    assert.deepEqual(filtered.sort(), [a, b].sort());
    assert.equal((await req('GET', `/volumes/${a}`, undefined, '3.12')).body.volume.group_id, undefined);

    const joined = await req('POST', '/volumes', { volume: { size: 1, name: 'joined', group_id: g } });
    assert.equal(joined.status, 202, joined.text);
    assert.equal(joined.body.volume.group_id, g);
    await waitFor(async () => (await req('GET', `/volumes/${joined.body.volume.id}`)).body.volume.status === 'available', 'joined available');
    const otherType = await req('POST', '/types', { volume_type: { name: 'not-in-group' } });
    assert.equal(otherType.status, 200, otherType.text);
    const wrongType = await req('POST', '/volumes', { volume: { size: 1, group_id: g, volume_type: 'not-in-group' } });
    assert.equal(wrongType.status, 400, wrongType.text);
    assert.equal((await req('POST', '/volumes', { volume: { size: 1, group_id: '00000000-0000-4000-8000-000000000000' } })).status, 404);
    const other = await group('other', type);
    const twice = await req('PUT', `/groups/${other}`, { group: { add_volumes: a } });
    assert.equal(twice.status, 400);
    assert.match(twice.body.badRequest.message, new RegExp(`already in group ${g}`));
    const both = await req('PUT', `/groups/${g}`, { group: { add_volumes: a, remove_volumes: a } });
    assert.equal(both.status, 400);
    const nothing = await req('PUT', `/groups/${g}`, { group: {} });
    assert.equal(nothing.status, 400);

    const del = await req('DELETE', `/volumes/${a}`);
    assert.equal(del.status, 400, 'a member volume is not deleted on its own');
    const notEmpty = await req('POST', `/groups/${g}/action`, { delete: { 'delete-volumes': false } });
    assert.equal(notEmpty.status, 400);

    assert.equal((await req('PUT', `/groups/${g}`, { group: { remove_volumes: b } })).status, 202);
    assert.equal((await req('GET', `/volumes/${b}`)).body.volume.group_id, null);

    assert.equal((await req('POST', `/groups/${g}/action`, { reset_status: { status: 'error' } })).status, 202);
    assert.equal((await req('GET', `/groups/${g}`)).body.group.status, 'error');
    assert.equal((await req('POST', `/groups/${g}/action`, { reset_status: { status: 'bogus' } })).status, 400);

    // delete-volumes takes the members along.
    assert.equal((await req('POST', `/groups/${g}/action`, { delete: { 'delete-volumes': true } })).status, 202);
    assert.equal((await req('GET', `/groups/${g}`)).status, 404);
    await waitFor(async () => (await req('GET', `/volumes/${a}`)).status === 404, 'member deleted');
    await waitFor(async () => (await req('GET', `/volumes/${joined.body.volume.id}`)).status === 404, 'joined member deleted');
    assert.equal((await req('GET', `/volumes/${b}`)).status, 200);
    assert.equal((await req('POST', `/groups/${other}/action`, { delete: {} })).status, 202);
    assert.equal(await usage(), before);
  });

  it('a group snapshot whose member cannot be snapshotted goes to error, with its snapshots, and a message says why', async () => {
    const type = await groupType('gt-fail');
    const g = await group('fail', type);
    const v = await volume('f-a');
    assert.equal((await req('PUT', `/groups/${g}`, { group: { add_volumes: v } })).status, 202);
    await rm(ts.server.services.drivers.get('raw')!.path('volume', v));
    const created = await req('POST', '/group_snapshots', { group_snapshot: { group_id: g } });
    assert.equal(created.status, 202, created.text);
    const id = created.body.group_snapshot.id as string;
    await waitFor(async () => (await req('GET', `/group_snapshots/${id}`)).body.group_snapshot.status === 'error', 'group snapshot error');
    const snaps = (await req('GET', '/snapshots/detail')).body.snapshots.filter((s: any) => s.group_snapshot_id === id);
    assert.deepEqual(
      snaps.map((s: any) => s.status),
      ['error'],
    );
    const msgs = (await req('GET', `/messages?resource_uuid=${snaps[0].id}`)).body.messages;
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0].resource_type, 'VOLUME_SNAPSHOT');
  });

  it('a group snapshot holds every member as it was at one point in time while a client writes A then B; a group made from it holds the same', async () => {
    const type = await groupType('gt-snap');
    const g = await group('snap', type);
    const a = await volume('s-a');
    const b = await volume('s-b');
    assert.equal((await req('PUT', `/groups/${g}`, { group: { add_volumes: `${a},${b}` } })).status, 202);

    const writer = startSequenceWriter(ts, { token: ts.adminToken, projectId: pid }, a, b, GiB);
    await roundsDone(writer, 3);
    const created = await req('POST', '/group_snapshots', { group_snapshot: { group_id: g, name: 'gs' } });
    assert.equal(created.status, 202, created.text);
    const gsId = created.body.group_snapshot.id as string;
    assert.equal(created.body.group_snapshot.group_type_id, type);
    const gs = await waitFor(async () => {
      const r = await req('GET', `/group_snapshots/${gsId}`);
      return r.body.group_snapshot.status === 'available' ? r.body.group_snapshot : null;
    }, 'group snapshot available');
    assert.equal(gs.group_id, g);
    const atSnapshot = writer.rounds;
    await roundsDone(writer, atSnapshot + 2);
    const { rounds, refusals } = await writer.stop();
    // The data API held the writes at the gate: none was refused.
    assert.equal(refusals, 0);

    const snaps = (await req('GET', '/snapshots/detail')).body.snapshots.filter((s: any) => s.group_snapshot_id === gsId);
    assert.equal(snaps.length, 2);
    const of = (vol: string) => snaps.find((s: any) => s.volume_id === vol);
    const ra = await readRound(ts, ts.adminToken ? { token: ts.adminToken, projectId: pid } : member, 'snapshots', of(a).id);
    const rb = await readRound(ts, { token: ts.adminToken, projectId: pid }, 'snapshots', of(b).id);
    // One point in time of a client that writes A then B: B's round ≤ A's ≤ B's + 1.
    assert.ok(rb <= ra && ra <= rb + 1, `A holds round ${ra}, B round ${rb}`);
    assert.ok(rb >= 3, `the group snapshot came after round 3 (B holds ${rb})`);
    assert.ok(ra < rounds, `writes after the group snapshot are not in it (A ${ra}, last ${rounds})`);
    assert.equal((await req('DELETE', `/snapshots/${of(a).id}`)).status, 400, 'a member snapshot goes with its group snapshot');
    assert.equal((await req('POST', `/groups/${g}/action`, { delete: { 'delete-volumes': true } })).status, 400, 'group has snapshots');

    const fromSrc = await req('POST', '/groups/action', { 'create-from-src': { name: 'copy', group_snapshot_id: gsId } });
    assert.equal(fromSrc.status, 202, fromSrc.text);
    const copy = fromSrc.body.group.id as string;
    const copyShown = await req('GET', `/groups/${copy}?list_volume=true`);
    assert.equal(copyShown.body.group.group_snapshot_id, gsId);
    assert.equal(copyShown.body.group.volumes.length, 2);
    const copied: number[] = [];
    for (const vid of copyShown.body.group.volumes) {
      await waitFor(async () => (await req('GET', `/volumes/${vid}`)).body.volume.status === 'available', 'copy available');
      copied.push(await readRound(ts, { token: ts.adminToken, projectId: pid }, 'volumes', vid));
    }
    assert.deepEqual(copied.sort(), [ra, rb].sort());

    assert.equal((await req('POST', `/groups/${copy}/action`, { delete: { 'delete-volumes': true } })).status, 202);
    assert.equal((await req('DELETE', `/group_snapshots/${gsId}`)).status, 202);
    assert.equal((await req('GET', `/group_snapshots/${gsId}`)).status, 404);
    // Every member's snapshot, not just the first: a group whose volumes still have a snapshot being deleted is
    // refused (400), as Cinder refuses it.
    for (const v of [a, b]) await waitFor(async () => (await req('GET', `/snapshots/${of(v).id}`)).status === 404, 'member snapshots deleted');
    assert.equal((await req('POST', `/groups/${g}/action`, { delete: { 'delete-volumes': true } })).status, 202);
  });
});
