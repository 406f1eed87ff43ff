/**
 * Roles mean what they say: reader reads, member writes in its own project, admin does everything. The matrix
 * is generated from the routes the server registered, so a new route enters it by existing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type RoutePolicy, ROUTE_POLICIES, policyKey } from './common/access.js';
import { type TestServer, waitFor } from '../test-support/harness.js';
import { admin, type Caller, cbr, checkpoint, createVault, createVolume } from './cbr/test-support/cbr.js';
import { startCbrServer } from './cbr/test-support/cbr.js';

interface User extends Caller {
  userId: string;
  name: string;
}

/** The ids one project's resources have; the matrix addresses them as "own" or "other". */
interface Resources {
  projectId: string;
  userId: string;
  volume: string;
  snapshot: string;
  backup: string;
  vault: string;
  policy: string;
  checkpoint: string;
  cbrBackup: string;
  operationLog: string;
  /** An open transfer of a volume of its own (the project's main volume stays available). */
  transfer: string;
}

async function ok(res: Promise<{ status: number; text: string; body: any }>, status: number, what: string) {
  const r = await res;
  assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
  return r.body;
}

/** The event stream never ends: its answer is its status (and, when refused, the fault body). */
async function streamOpened(ts: TestServer, path: string, token: string): Promise<{ status: number; text: string; body: any }> {
  const abort = new AbortController();
  const res = await fetch(`${ts.url}${path}`, { headers: { 'X-Auth-Token': token }, signal: abort.signal });
  if (res.status === 200) {
    abort.abort();
    return { status: 200, text: '', body: null };
  }
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : null };
}

async function tokenFor(ts: TestServer, name: string, password: string, project: string): Promise<string> {
  const res = await ts.request('POST', '/identity/v3/auth/tokens', {
    body: {
      auth: {
        identity: { methods: ['password'], password: { user: { name, domain: { id: 'default' }, password } } },
        scope: { project: { name: project, domain: { id: 'default' } } },
      },
    },
  });
  assert.equal(res.status, 201, res.text);
  return res.headers.get('x-subject-token')!;
}

async function roleId(ts: TestServer, name: string): Promise<string> {
  return (await ok(ts.request('GET', `/identity/v3/roles?name=${name}`, { token: ts.adminToken }), 200, 'roles')).roles[0].id;
}

/** A user holding only `reader` on an existing project. */
async function createReader(ts: TestServer, name: string, projectId: string, projectName: string): Promise<User> {
  const u = await ok(
    ts.request('POST', '/identity/v3/users', { token: ts.adminToken, body: { user: { name, domain_id: 'default', password: `${name}-pw` } } }),
    201,
    'user create',
  );
  await ok(
    ts.request('PUT', `/identity/v3/projects/${projectId}/users/${u.user.id}/roles/${await roleId(ts, 'reader')}`, { token: ts.adminToken }),
    204,
    'grant reader',
  );
  return { token: await tokenFor(ts, name, `${name}-pw`, projectName), projectId, userId: u.user.id, name };
}

async function createMemberUser(ts: TestServer, name: string): Promise<User> {
  const m = await ts.createMember(name);
  return { ...m, name };
}

async function waitStatus(ts: TestServer, who: Caller, kind: 'snapshots' | 'backups', id: string, status: string) {
  const key = kind === 'snapshots' ? 'snapshot' : 'backup';
  await waitFor(async () => {
    const r = await ts.request('GET', `/v3/${who.projectId}/${kind}/${id}`, { token: who.token });
    const s = r.body?.[key]?.status;
    if (s === 'error') throw new Error(`${key} ${id} went error`);
    return s === status;
  }, `${key} ${id} ${status}`);
}

/** One project's worth of resources of every kind a route can name, created by its member. */
async function populate(ts: TestServer, who: User, sharedWith: string): Promise<Resources> {
  const base = `/v3/${who.projectId}`;
  const volume = await createVolume(ts, who, `${who.name}-vol`);
  await ok(ts.request('POST', `${base}/volumes/${volume}/metadata`, { token: who.token, body: { metadata: { k: 'v' } } }), 200, 'volume metadata');
  const snap = await ok(
    ts.request('POST', `${base}/snapshots`, { token: who.token, body: { snapshot: { volume_id: volume, name: `${who.name}-snap`, metadata: { k: 'v' } } } }),
    202,
    'snapshot create',
  );
  await waitStatus(ts, who, 'snapshots', snap.snapshot.id, 'available');
  const backup = await ok(
    ts.request('POST', `${base}/backups`, { token: who.token, body: { backup: { volume_id: volume, name: `${who.name}-backup` } } }),
    202,
    'backup create',
  );
  await waitStatus(ts, who, 'backups', backup.backup.id, 'available');
  const vault = await createVault(ts, who, `${who.name}-vault`, [volume]);
  await ok(cbr(ts, who, 'POST', `/vault/${vault.id}/tags`, { tag: { key: 'k', value: 'v' } }), 204, 'vault tag');
  const policy = await ok(
    cbr(ts, who, 'POST', '/policies', {
      policy: {
        name: `${who.name}-policy`,
        operation_type: 'backup',
        operation_definition: { max_backups: 3 },
        trigger: { properties: { pattern: ['FREQ=DAILY;INTERVAL=1;BYHOUR=3;BYMINUTE=00'] } },
      },
    }),
    200,
    'policy create',
  );
  const { created } = await checkpoint(ts, who, vault.id);
  const cbrBackups = await ok(cbr(ts, who, 'GET', `/backups?checkpoint_id=${created.id}`), 200, 'cbr backups');
  const cbrBackup = cbrBackups.backups[0].id as string;
  await ok(cbr(ts, who, 'POST', `/backups/${cbrBackup}/members`, { members: [sharedWith] }), 200, 'share');
  const logs = await ok(cbr(ts, who, 'GET', '/operation-logs'), 200, 'operation logs');
  const offered = await createVolume(ts, who, `${who.name}-offered`);
  const transfer = await ok(
    ts.request('POST', `${base}/os-volume-transfer`, { token: who.token, body: { transfer: { volume_id: offered } } }),
    202,
    'transfer create',
  );
  return {
    projectId: who.projectId,
    userId: who.userId,
    volume,
    snapshot: snap.snapshot.id,
    backup: backup.backup.id,
    vault: vault.id,
    policy: policy.policy.id,
    checkpoint: created.id,
    cbrBackup,
    operationLog: logs.operation_logs[0].id,
    transfer: transfer.transfer.id,
  };
}

type RoleName = 'reader' | 'member' | 'admin';
type Side = 'own' | 'other';

const RESOURCE_PARAMS = new Set(['id', 'vault_id', 'policy_id', 'checkpoint_id', 'backup_id', 'member_id', 'operation_log_id', 'target', 'projectId', 'userId', 'key']);

/** Whether a route names a resource (so "another project's" version of it exists). */
function namesResource(url: string): boolean {
  return url.split('/').some((s) => s.startsWith(':') && RESOURCE_PARAMS.has(s.slice(1)) && s !== ':key');
}

function dialectOf(url: string): 'keystone' | 'cbr' | 'cinder' {
  if (url.startsWith('/identity')) return 'keystone';
  if (url.startsWith('/cbr')) return 'cbr';
  return 'cinder';
}

/** A 403 in the route's dialect, naming a policy rule. */
function assertRefusal(res: { status: number; body: any; text: string }, url: string, what: string, method = 'GET'): void {
  assert.equal(res.status, 403, `${what}: expected 403, got ${res.status} ${res.text}`);
  if (method === 'HEAD') return;
  switch (dialectOf(url)) {
    case 'keystone':
      assert.equal(res.body?.error?.code, 403, what);
      assert.equal(res.body.error.title, 'Forbidden', what);
      assert.match(res.body.error.message, /^You are not authorized to perform the requested action: identity:\S+\.$/, what);
      break;
    case 'cbr':
      assert.equal(res.body?.error_code, 'BackupService.8600', `${what}: ${res.text}`);
      assert.match(res.body.error_msg, /^Policy doesn't allow \S+ to be performed\.$/, what);
      break;
    default:
      assert.equal(res.body?.forbidden?.code, 403, `${what}: ${res.text}`);
      assert.match(res.body.forbidden.message, /^Policy doesn't allow \S+ to be performed\.$/, what);
  }
}

const is2xx = (s: number) => s >= 200 && s < 300;

describe('roles: reader reads, member writes in its project, admin does everything', () => {
  let ts: TestServer;
  let memberA: User;
  let readerA: User;
  let memberB: User;
  let adminUser: User;
  let own: Resources;
  let other: Resources;
  let readerRoleId: string;
  let typeId: string;
  /** QoS specs belong to no project: one, the admin's, stands for both sides. */
  let qosId: string;

  before(async () => {
    ts = await startCbrServer({}, undefined, { cbr: { shareDiskBackups: true } });
    memberA = await createMemberUser(ts, 'matrix-a');
    readerA = await createReader(ts, 'matrix-a-reader', memberA.projectId, 'matrix-a');
    memberB = await createMemberUser(ts, 'matrix-b');
    const me = await ok(ts.request('GET', '/identity/v3/users?name=admin', { token: ts.adminToken }), 200, 'admin user');
    adminUser = { ...admin(ts), userId: me.users[0].id, name: 'admin' };
    own = await populate(ts, memberA, ts.adminProjectId);
    other = await populate(ts, memberB, ts.adminProjectId);
    readerRoleId = await roleId(ts, 'reader');
    typeId = (await ok(ts.request('GET', `/v3/${ts.adminProjectId}/types`, { token: ts.adminToken }), 200, 'types')).volume_types[0].id;
    qosId = (
      await ok(
        ts.request('POST', `/v3/${ts.adminProjectId}/qos-specs`, { token: ts.adminToken, body: { qos_specs: { name: 'matrix-qos' } } }),
        200,
        'qos create',
      )
    ).qos_specs.id;
  });
  after(async () => ts?.close());

  describe('direct checks', () => {
    const v3 = (who: Caller, path: string) => `/v3/${who.projectId}${path}`;

    it('a reader lists and shows volumes, snapshots, backups and vaults of its project, and reads volume bytes', async () => {
      const get = (path: string) => ok(ts.request('GET', v3(readerA, path), { token: readerA.token }), 200, path);
      assert.ok((await get('/volumes')).volumes.some((v: any) => v.id === own.volume));
      assert.equal((await get(`/volumes/${own.volume}`)).volume.id, own.volume);
      assert.ok((await get('/snapshots')).snapshots.some((s: any) => s.id === own.snapshot));
      assert.equal((await get(`/snapshots/${own.snapshot}`)).snapshot.id, own.snapshot);
      assert.ok((await get('/backups')).backups.some((b: any) => b.id === own.backup));
      assert.equal((await get(`/backups/${own.backup}`)).backup.id, own.backup);
      const vaults = await ok(cbr(ts, readerA, 'GET', '/vaults'), 200, 'vaults');
      assert.ok(vaults.vaults.some((v: any) => v.id === own.vault));
      assert.equal((await ok(cbr(ts, readerA, 'GET', `/vaults/${own.vault}`), 200, 'vault')).vault.id, own.vault);
      const bytes = await fetch(`${ts.url}${v3(readerA, `/volumes/${own.volume}/cinderbox-data`)}`, {
        headers: { 'X-Auth-Token': readerA.token, Range: 'bytes=0-511' },
      });
      assert.equal(bytes.status, 206);
      assert.equal((await bytes.arrayBuffer()).byteLength, 512);
    });

    it('a reader cannot create a volume, snapshot or backup: 403 naming the rule, nothing created', async () => {
      const count = async (kind: string) => (await ok(ts.request('GET', v3(memberA, `/${kind}`), { token: memberA.token }), 200, kind))[kind].length;
      const before = [await count('volumes'), await count('snapshots'), await count('backups')];
      const vol = await ts.request('POST', v3(readerA, '/volumes'), { token: readerA.token, body: { volume: { size: 1, name: 'nope' } } });
      assertRefusal(vol, '/v3', 'volume create');
      assert.equal(vol.body.forbidden.message, "Policy doesn't allow volume:create to be performed.");
      const snap = await ts.request('POST', v3(readerA, '/snapshots'), { token: readerA.token, body: { snapshot: { volume_id: own.volume } } });
      assertRefusal(snap, '/v3', 'snapshot create');
      assert.equal(snap.body.forbidden.message, "Policy doesn't allow volume:create_snapshot to be performed.");
      const backup = await ts.request('POST', v3(readerA, '/backups'), { token: readerA.token, body: { backup: { volume_id: own.volume } } });
      assertRefusal(backup, '/v3', 'backup create');
      assert.equal(backup.body.forbidden.message, "Policy doesn't allow backup:create to be performed.");
      assert.deepEqual([await count('volumes'), await count('snapshots'), await count('backups')], before);
    });

    it('a reader cannot delete a volume, snapshot or backup: each is still there, unchanged', async () => {
      for (const [kind, id, rule] of [
        ['volumes', own.volume, 'volume:delete'],
        ['snapshots', own.snapshot, 'volume:delete_snapshot'],
        ['backups', own.backup, 'backup:delete'],
      ] as const) {
        const before = await ok(ts.request('GET', v3(memberA, `/${kind}/${id}`), { token: memberA.token }), 200, kind);
        const res = await ts.request('DELETE', v3(readerA, `/${kind}/${id}`), { token: readerA.token });
        assertRefusal(res, '/v3', `${kind} delete`);
        assert.equal(res.body.forbidden.message, `Policy doesn't allow ${rule} to be performed.`);
        assert.deepEqual(await ok(ts.request('GET', v3(memberA, `/${kind}/${id}`), { token: memberA.token }), 200, kind), before);
      }
    });

    it('a reader cannot act on a volume (the action is named in the refusal); a reader of another project cannot either', async () => {
      const res = await ts.request('POST', v3(readerA, `/volumes/${own.volume}/action`), { token: readerA.token, body: { 'os-extend': { new_size: 2 } } });
      assertRefusal(res, '/v3', 'extend');
      assert.equal(res.body.forbidden.message, "Policy doesn't allow volume:extend to be performed.");
      const force = await ts.request('POST', v3(readerA, `/volumes/${own.volume}/action`), { token: readerA.token, body: { 'os-force_delete': {} } });
      assert.equal(force.body.forbidden.message, "Policy doesn't allow volume_extension:volume_admin_actions:force_delete to be performed.");
      assert.equal((await ok(ts.request('GET', v3(memberA, `/volumes/${own.volume}`), { token: memberA.token }), 200, 'volume')).volume.size, 1);
    });

    it('a reader cannot upload volume bytes: 403 before the body is read, the bytes unchanged', async () => {
      const sha = async () => {
        // The first MiB is where the refused upload would have landed.
        const r = await fetch(`${ts.url}${v3(memberA, `/volumes/${own.volume}/cinderbox-data`)}`, {
          headers: { 'X-Auth-Token': memberA.token, Range: 'bytes=0-1048575' },
        });
        assert.equal(r.status, 206);
        return createHash('sha256').update(Buffer.from(await r.arrayBuffer())).digest('hex');
      };
      const before = await sha();
      const res = await ts.request('PUT', v3(readerA, `/volumes/${own.volume}/cinderbox-data`), {
        token: readerA.token,
        rawBody: Buffer.alloc(64 * 1024, 0xab),
        headers: { 'Content-Type': 'application/octet-stream' },
      });
      assertRefusal(res, '/v3', 'upload');
      assert.equal(await sha(), before);
      assert.equal((await ok(ts.request('GET', v3(memberA, `/volumes/${own.volume}`), { token: memberA.token }), 200, 'volume')).volume.status, 'available');
    });

    it('a reader cannot delete a CBR vault: 403 with CBR code 8600, the vault and its resources stay', async () => {
      const before = await ok(cbr(ts, memberA, 'GET', `/vaults/${own.vault}`), 200, 'vault');
      const res = await cbr(ts, readerA, 'DELETE', `/vaults/${own.vault}`);
      assertRefusal(res, '/cbr', 'vault delete');
      assert.equal(res.body.error_msg, "Policy doesn't allow cbr:vaults:delete to be performed.");
      assert.deepEqual(await ok(cbr(ts, memberA, 'GET', `/vaults/${own.vault}`), 200, 'vault'), before);
      const cp = await cbr(ts, readerA, 'POST', '/checkpoints', { checkpoint: { vault_id: own.vault, parameters: {} } });
      assertRefusal(cp, '/cbr', 'checkpoint');
    });

    it('a reader gets Keystone\'s refusal on identity writes, yet may revoke its own token and change its own password', async () => {
      const res = await ts.request('PATCH', `/identity/v3/users/${readerA.userId}`, { token: readerA.token, body: { user: { name: 'renamed' } } });
      assertRefusal(res, '/identity', 'user update');
      const pw = await ts.request('POST', `/identity/v3/users/${readerA.userId}/password`, {
        token: readerA.token,
        body: { user: { original_password: 'matrix-a-reader-pw', password: 'matrix-a-reader-pw2' } },
      });
      assert.equal(pw.status, 204, pw.text);
      const fresh = await tokenFor(ts, 'matrix-a-reader', 'matrix-a-reader-pw2', 'matrix-a');
      const revoke = await ts.request('DELETE', '/identity/v3/auth/tokens', { token: fresh, headers: { 'X-Subject-Token': fresh } });
      assert.equal(revoke.status, 204, revoke.text);
      // The password change revoked the reader's older tokens, as Keystone does; the matrix needs a live one.
      readerA.token = await tokenFor(ts, 'matrix-a-reader', 'matrix-a-reader-pw2', 'matrix-a');
    });

    it('a member creates and deletes a volume in its project', async () => {
      const id = await createVolume(ts, memberA, 'member-made');
      await ok(ts.request('DELETE', v3(memberA, `/volumes/${id}`), { token: memberA.token }), 202, 'delete');
    });
  });

  it('every registered route has a policy, and every table entry names a registered route', () => {
    const keys = new Set(ts.server.routes.map((r) => policyKey(r.method, r.url)));
    for (const k of Object.keys(ROUTE_POLICIES)) assert.ok(keys.has(k), `stale policy entry: ${k}`);
    for (const r of ts.server.routes) {
      const p: RoutePolicy = r.policy;
      assert.ok(['public', 'read', 'write', 'admin', 'self', 'action'].includes(p.access), `${r.method} ${r.url}`);
      // A write's refusal must name a rule, so every write is in the table: a new write route fails here until classified.
      if (p.access !== 'public' && p.access !== 'read') assert.ok(p.rule, `${r.method} ${r.url} is a ${p.access} route without a policy rule`);
      if (p.access === 'public') assert.ok(r.method === 'GET' || r.method === 'HEAD' || r.url === '/identity/v3/auth/tokens', `${r.method} ${r.url} is public`);
    }
  });

  it('the console\'s static routes are public GETs that answer without a token', async () => {
    const consoleRoutes = ts.server.routes.filter((r) => r.url === '/console' || r.url.startsWith('/console/'));
    assert.deepEqual(
      consoleRoutes.filter((r) => r.method === 'GET').map((r) => [r.url, r.policy.access]),
      [['/console', 'public'], ['/console/*', 'public']],
    );
    // Data never comes from these routes: the page holds no project's resources, so no role sees more here.
    const res = await fetch(`${ts.url}/console`, { redirect: 'manual' });
    assert.equal(res.status, 308, await res.text());
  });

  it('route × role × own/other project', async (t) => {
    const callers: Record<RoleName, User> = { reader: readerA, member: memberA, admin: adminUser };
    const sets: Record<Side, Resources> = { own, other };

    const pathFor = (url: string, role: RoleName, side: Side): string => {
      const who = callers[role];
      const r = sets[side];
      const parts = url.split('/');
      return parts
        .map((seg, i) => {
          if (!seg.startsWith(':')) return seg;
          const prev = parts[i - 1];
          switch (seg.slice(1)) {
            case 'project_id':
              return who.projectId;
            case 'id':
              if (prev === 'volumes') return r.volume;
              if (prev === 'snapshots') return r.snapshot;
              if (prev === 'backups') return r.backup;
              if (prev === 'users') return role === 'admin' && side === 'own' ? readerA.userId : side === 'own' ? who.userId : r.userId;
              if (prev === 'projects') return r.projectId;
              if (prev === 'roles') return readerRoleId;
              if (prev === 'os-volume-transfer' || prev === 'volume-transfers') return r.transfer;
              // No request of the matrix asks for 3.3, so the messages routes answer 404 whatever the id.
              if (prev === 'messages') return '00000000-0000-4000-8000-000000000000';
              // Nor 3.11-3.14: the group routes answer 404 too (groups.test.ts checks who may call them).
              if (prev === 'group_types' || prev === 'groups' || prev === 'group_snapshots') return '00000000-0000-4000-8000-000000000000';
              if (prev === 'qos-specs') return qosId;
              // Nor for 3.27: the attachments routes answer 404 whatever the id.
              if (prev === 'attachments') return '00000000-0000-4000-8000-000000000000';
              throw new Error(`no id for ${url}`);
            case 'key':
              return 'k';
            case 'vault_id':
              return r.vault;
            case 'policy_id':
              return r.policy;
            case 'checkpoint_id':
              return r.checkpoint;
            case 'backup_id':
              return r.cbrBackup;
            case 'member_id':
              return ts.adminProjectId;
            case 'operation_log_id':
              return r.operationLog;
            // No repository job exists: admins get a 404, the others a refusal.
            case 'job_id':
              return '00000000-0000-4000-8000-000000000000';
            case 'target':
            case 'projectId':
              return r.projectId;
            case 'userId':
              return side === 'own' && role !== 'admin' ? who.userId : r.userId;
            case 'roleId':
              return readerRoleId;
            case 'name':
              return 'default';
            case 'type_id':
              return typeId;
            case 'alias':
              return 'os-hosts';
            // An empty body makes every os-services action a 400 for admins: the matrix checks who, not what.
            case 'action':
              return 'disable';
            case 'host':
              return 'cinderbox';
            case 'domainId':
              return 'default';
            default:
              throw new Error(`the matrix has no value for ${seg} in ${url}: add one`);
          }
        })
        .join('/');
    };
    /** Queries some reads need to be allowed at all (Keystone lists role assignments only for yourself). */
    const queryFor = (url: string, role: RoleName): string => (url === '/identity/v3/role_assignments' ? `?user.id=${callers[role].userId}` : '');

    type Case = { method: string; url: string; policy: RoutePolicy; role: RoleName; side: Side };
    const cases: Case[] = [];
    for (const r of ts.server.routes) {
      if (r.policy.access === 'public') continue;
      for (const role of ['reader', 'member', 'admin'] as const) {
        for (const side of ['own', 'other'] as const) {
          if (side === 'other' && !namesResource(r.url)) continue;
          cases.push({ ...r, role, side });
        }
      }
    }
    const isRead = (c: Case) => c.method === 'GET' || c.method === 'HEAD';
    // Reads first, then writes: readers' (all refused), other projects' (all refused), own (may change things),
    // deletes last so the resources the other cases name still exist while they run.
    const rank = (c: Case) =>
      (isRead(c) ? 0 : c.role === 'reader' ? 1 : c.side === 'other' && c.role !== 'admin' ? 2 : c.role === 'member' ? 3 : 4) * 10 +
      (c.method === 'DELETE' ? (c.url.startsWith('/identity') ? 2 : 1) : 0);
    cases.sort((a, b) => rank(a) - rank(b));

    /** What the owners see of representative resources (CBR shows a vault only to its own project). */
    const snapshotOf = async () => {
      const views: Promise<string>[] = [];
      for (const [r, owner] of [[own, memberA], [other, memberB]] as const) {
        const get = async (path: string) => {
          const res = await ts.request('GET', path, { token: path.startsWith('/identity') ? ts.adminToken : owner.token });
          assert.equal(res.status, 200, `${path}: ${res.text}`);
          return res.text;
        };
        const a = `/v3/${r.projectId}`;
        const c = `/cbr/v3/${r.projectId}`;
        for (const p of [
          `${a}/volumes/${r.volume}`,
          `${a}/volumes/${r.volume}/metadata`,
          `${a}/snapshots/${r.snapshot}`,
          `${a}/backups/${r.backup}`,
          `${c}/vaults/${r.vault}`,
          `${c}/vault/${r.vault}/tags`,
          `${c}/policies/${r.policy}`,
          `${c}/backups/${r.cbrBackup}`,
          `${c}/backups/${r.cbrBackup}/members`,
          `/identity/v3/users/${r.userId}`,
          `/identity/v3/projects/${r.projectId}`,
        ])
          views.push(get(p));
      }
      return Promise.all(views);
    };
    const before = await snapshotOf();
    let checkedUnchanged = false;

    const failures: string[] = [];
    for (const c of cases) {
      if (!checkedUnchanged && rank(c) >= 30) {
        // Every refused write so far left the resources as they were.
        assert.deepEqual(await snapshotOf(), before, 'refused writes changed a resource');
        checkedUnchanged = true;
      }
      const who = callers[c.role];
      const path = pathFor(c.url, c.role, c.side) + queryFor(c.url, c.role);
      // Volume bytes are read one byte at a time: the matrix is about who, not what.
      const headers = c.url.endsWith('/cinderbox-data') && isRead(c) ? { headers: { Range: 'bytes=0-0' } } : {};
      const res = c.url.endsWith('/cinderbox-events')
        ? await streamOpened(ts, path, who.token)
        : await ts.request(c.method, path, { token: who.token, ...headers, ...(isRead(c) ? {} : { body: {} }) });
      const what = `${c.role} ${c.side} ${c.method} ${c.url} → ${res.status}`;
      const access = c.policy.access;
      try {
        assert.ok(res.status < 500, `${what}: ${res.text}`);
        if (c.role === 'reader' && (access === 'write' || access === 'admin' || access === 'action')) assertRefusal(res, c.url, what, c.method);
        // Admin-only routes: the services refuse members (after validating the body and microversion, as Cinder does).
        if (c.role !== 'admin' && access === 'admin') assert.ok(!is2xx(res.status), `${what}: ${res.text}`);
        if (c.side === 'own' && access !== 'admin' && (c.role === 'member' || access === 'read' || access === 'self'))
          assert.notEqual(res.status, 403, `${what}: ${res.text}`);
        if (c.role === 'admin' && c.side === 'own') assert.notEqual(res.status, 403, `${what}: ${res.text}`);
        if (c.side === 'other' && c.role !== 'admin') assert.ok(!is2xx(res.status), `another project's resource answered ${what}: ${res.text}`);
      } catch (e) {
        failures.push((e as Error).message.split('\n')[0]!);
      }
    }
    t.diagnostic(`${cases.length} requests over ${ts.server.routes.length} routes`);
    assert.deepEqual(failures, []);
    assert.ok(checkedUnchanged);
  });
});
