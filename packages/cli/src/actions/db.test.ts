/**
 * `cinderbox db copy`: a server's data made on SQLite is served the same from PostgreSQL after the copy, with the
 * same data directory (volume files and backup repository stay where they are).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BackupApi, MiB, type Who } from '../../../server/src/api/block-storage/test-support/backup-api.js';
import { cbr, checkpoint, createVault } from '../../../server/src/api/cbr/test-support/cbr.js';
import { COPIED_TABLES } from '../../../server/src/store/copy.js';
import { createTestDatabase, startTestServer, type TestServer } from '../../../server/src/test-support/harness.js';
import { runCli } from '../test-support/cli.js';

// scripts/test.sh starts PostgreSQL before the SQLite pass and names it here: the copy needs one in either pass.
const PG_URL =
  process.env.CINDERBOX_TEST_POSTGRES_URL ??
  process.env.CINDERBOX_TEST_DATABASE_URL ??
  'postgres://cinderbox:cinderbox@127.0.0.1:55432/cinderbox';
const RAW = [{ name: 'raw', driver: 'raw' as const, pool: 'raw' }];

async function pgClient(url: string) {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

async function pgReachable(): Promise<boolean> {
  try {
    await (await pgClient(PG_URL)).end();
    return true;
  } catch {
    return false;
  }
}

const skip = (await pgReachable()) ? false : `no PostgreSQL at ${PG_URL} (scripts/start-postgres.sh starts one)`;

async function sql(url: string, text: string, params: unknown[] = []): Promise<any[]> {
  const c = await pgClient(url);
  try {
    return (await c.query(text, params)).rows;
  } finally {
    await c.end();
  }
}

const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

function copyCli(dataDir: string, to: string) {
  return runCli(['db', 'copy', '--from-data-dir', dataDir, '--to', to, '-f', 'json']);
}

describe('cinderbox db copy from SQLite to PostgreSQL', { skip }, () => {
  const created: string[] = [];
  let dir: string;
  let ts: TestServer | undefined;
  let api: BackupApi;
  let admin: Who;
  let member: Who & { userId: string };
  /** Each backup (Cinder and CBR) with the digest of its source volume when it was taken. */
  const backups: { kind: 'cinder' | 'cbr'; id: string; sha: string }[] = [];
  let before_: Record<string, unknown>;
  let target: string;

  const newDatabase = async () => {
    const url = await createTestDatabase(PG_URL);
    created.push(url);
    return url;
  };

  /** What the API serves, with the server's own base URL masked (the two servers listen on different ports). */
  async function inventory(t: TestServer, who: Who): Promise<Record<string, unknown>> {
    const adm: Who = { token: t.adminToken, projectId: t.adminProjectId };
    const get = async (path: string, as: Who, mv?: string) => {
      const r = await t.request('GET', path, { token: as.token, ...(mv ? { mv } : {}) });
      assert.equal(r.status, 200, `${path}: ${r.text}`);
      return JSON.parse(r.text.replaceAll(t.url, 'BASE'));
    };
    // Keystone lists have no promised order.
    const byId = (xs: any[]) => [...xs].sort((a, b) => String(a.id ?? JSON.stringify(a)).localeCompare(String(b.id ?? JSON.stringify(b))));
    const p = `/v3/${adm.projectId}`;
    const m = `/cbr/v3/${who.projectId}`;
    const vaults = await get(`${m}/vaults`, who);
    const checkpoints: unknown[] = [];
    for (const b of (await get(`${m}/backups`, who)).backups) checkpoints.push(await get(`${m}/checkpoints/${b.checkpoint_id}`, who));
    return {
      volumes: await get(`${p}/volumes/detail?all_tenants=1`, adm, '3.60'),
      snapshots: await get(`${p}/snapshots/detail?all_tenants=1`, adm, '3.60'),
      backups: await get(`${p}/backups/detail?all_tenants=1`, adm, '3.60'),
      types: await get(`${p}/types`, adm),
      quota: await get(`${p}/os-quota-sets/${who.projectId}?usage=true`, adm),
      vaults,
      cbrBackups: await get(`${m}/backups`, who),
      checkpoints,
      policies: await get(`${m}/policies`, who),
      operationLogs: await get(`${m}/operation-logs`, who),
      users: byId((await get('/identity/v3/users', adm)).users),
      projects: byId((await get('/identity/v3/projects', adm)).projects),
      roles: byId((await get('/identity/v3/roles', adm)).roles),
      assignments: (await get('/identity/v3/role_assignments', adm)).role_assignments
        .map((a: any) => JSON.stringify(a))
        .sort(),
    };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-db-copy-'));
    ts = await startTestServer({ database: { kind: 'sqlite' }, backends: RAW }, dir);
    api = new BackupApi(ts);
    admin = { token: ts.adminToken, projectId: ts.adminProjectId };
    const carol = await ts.createMember('carol');
    member = { token: carol.token, projectId: carol.projectId, userId: carol.userId };

    const vol = await api.volume(member, { size: 1, name: 'data', metadata: { tier: 'gold', owner: 'carol' } });
    await api.write(member, vol, [
      [0, randomBytes(MiB)],
      [9 * MiB, randomBytes(MiB)],
    ]);
    const snap = await ts.request('POST', `/v3/${member.projectId}/snapshots`, {
      token: member.token,
      body: { snapshot: { volume_id: vol, name: 'before-backup', metadata: { why: 'test' } } },
    });
    assert.equal(snap.status, 202, snap.text);
    const full = await api.backup(member, { volume_id: vol, name: 'full', metadata: { kind: 'full' } }, '3.43');
    backups.push({ kind: 'cinder', id: full, sha: await api.sha(member, vol) });
    await api.backupStatus(member, full, 'available');
    await api.write(member, vol, [[9 * MiB, randomBytes(MiB)]]);
    const sha = await api.sha(member, vol);
    const inc = await api.backup(member, { volume_id: vol, name: 'inc', incremental: true });
    backups.push({ kind: 'cinder', id: inc, sha });
    assert.equal((await api.backupStatus(member, inc, 'available')).is_incremental, true);

    const guarded = await api.volume(member, { size: 1, name: 'guarded' });
    await api.write(member, guarded, [[4 * MiB, randomBytes(2 * MiB)]]);
    const vault = await createVault(ts, member, 'vault', [guarded]);
    const tags = await cbr(ts, member, 'POST', `/vault/${vault.id}/tags`, { tag: { key: 'env', value: 'prod' } });
    assert.ok(tags.status < 300, tags.text);
    const policy = await cbr(ts, member, 'POST', '/policies', {
      policy: {
        name: 'daily',
        operation_type: 'backup',
        operation_definition: { max_backups: 3 },
        trigger: { properties: { pattern: ['FREQ=DAILY;INTERVAL=1;BYHOUR=12;BYMINUTE=00'] } },
      },
    });
    assert.equal(policy.status, 200, policy.text);
    assert.equal((await cbr(ts, member, 'POST', `/vaults/${vault.id}/associatepolicy`, { policy_id: policy.body.policy.id })).status, 200);
    const cp = await checkpoint(ts, member, vault.id, { name: 'cp' });
    assert.equal(cp.done.status, 'available');
    const [cbrBackup] = (await cbr(ts, member, 'GET', `/backups?checkpoint_id=${cp.created.id}`)).body.backups;
    backups.push({ kind: 'cbr', id: cbrBackup.id, sha: await api.sha(member, guarded) });
  });

  after(async () => {
    await ts?.close();
    await rm(dir, { recursive: true, force: true });
    for (const url of created) {
      const name = new URL(url).pathname.slice(1);
      await sql(PG_URL, `drop database if exists ${name} with (force)`).catch(() => {});
    }
  });

  test('refuses while a server runs on the data directory, and touches neither side', async () => {
    target = await newDatabase();
    const r = await copyCli(dir, target);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^Error: cannot copy: data directory .* is in use by process ${process.pid}\\b.*stop the server first\\n$`));
    assert.equal(r.stdout, '');
    assert.deepEqual(await sql(target, "select table_name from information_schema.tables where table_schema = 'public'"), []);
  });

  test('a server on PostgreSQL with the same data directory serves the same resources, logins and bytes', async () => {
    before_ = await inventory(ts!, member);
    await ts!.close({ keepData: true });
    ts = undefined;
    const db = join(dir, 'cinderbox.db');
    const sourceSha = await sha256(db);

    const r = await copyCli(dir, target);
    assert.equal(r.code, 0, r.stderr);
    const rows = Object.fromEntries((JSON.parse(r.stdout) as { Table: string; Rows: number }[]).map((x) => [x.Table, x.Rows]));
    assert.equal(Object.keys(rows).length, COPIED_TABLES.length, 'every table is listed');
    assert.equal(rows.volumes, 2);
    assert.match(r.stderr, /^copied volumes: 2 rows$/m);
    assert.match(r.stderr, /^copied backups: 2 rows$/m);
    assert.match(r.stderr, new RegExp(`^copied \\d+ rows in ${COPIED_TABLES.length} tables from .*cinderbox\\.db to postgres://cinderbox:\\*\\*\\*@`, 'm'));
    assert.doesNotMatch(r.stderr, /cinderbox:cinderbox@/, 'the password is not printed');
    assert.equal(await sha256(db), sourceSha, 'the SQLite file is not written');
    // The trigger-kept snapshots.metadata_json (migration 0032) ends right on the target, however the rows arrived.
    assert.deepEqual(
      (await sql(target, "select metadata_json from snapshots where metadata_json <> '{}'")).map((r: any) => JSON.parse(r.metadata_json)),
      [{ why: 'test' }],
    );

    ts = await startTestServer({ database: { kind: 'postgres', url: target }, backends: RAW }, dir);
    assert.equal(ts.server.bootstrap, null, 'the copied store is not empty: no new admin');
    // A token issued by the SQLite server still works: tokens moved too.
    assert.equal((await ts.request('GET', `/v3/${member.projectId}/volumes`, { token: member.token })).status, 200);
    const login = await ts.request('POST', '/identity/v3/auth/tokens', {
      body: {
        auth: {
          identity: { methods: ['password'], password: { user: { name: 'carol', domain: { id: 'default' }, password: 'carol-pw' } } },
          scope: { project: { id: member.projectId } },
        },
      },
    });
    assert.equal(login.status, 201, login.text);
    member = { ...member, token: login.headers.get('x-subject-token')! };
    assert.equal(login.body.token.user.id, member.userId);

    assert.deepEqual(await inventory(ts, member), before_);

    api = new BackupApi(ts);
    for (const b of backups) {
      let restored: string;
      if (b.kind === 'cinder') {
        restored = await api.restore(member, b.id);
      } else {
        restored = await api.volume(member, { size: 1, name: `from-${b.id}` });
        const res = await cbr(ts, member, 'POST', `/backups/${b.id}/restore`, { restore: { volume_id: restored } });
        assert.equal(res.status, 202, res.text);
        await api.volumeStatus(member, restored, 'available');
      }
      assert.equal(await api.sha(member, restored), b.sha, `${b.kind} backup ${b.id} restores its volume's bytes`);
    }
  });

  test('a target that holds data is refused, naming the table, and is left as it was', async () => {
    await ts!.close({ keepData: true });
    ts = undefined;
    const volumes = await sql(target, 'select id from volumes order by id');
    const r = await copyCli(dir, target);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^Error: the target postgres:\/\/cinderbox:\*\*\*@.* already holds data \(table domains has 1 row\); copy into a new, empty database\n$/);
    assert.deepEqual(await sql(target, 'select id from volumes order by id'), volumes);
  });

  test('a failure halfway rolls the target back and exits 1 with the reason; the same target then takes the copy', async () => {
    const other = await mkdtemp(join(tmpdir(), 'cinderbox-db-copy-bad-'));
    try {
      await mkdir(other, { recursive: true });
      await copyFile(join(dir, 'cinderbox.db'), join(other, 'cinderbox.db'));
      const { default: SQLite } = await import('better-sqlite3');
      const edit = (value: string) => {
        const s = new SQLite(join(other, 'cinderbox.db'));
        s.prepare("update volume_metadata set value = ? where key = 'owner'").run(value);
        s.close();
      };
      // PostgreSQL text cannot hold NUL: the insert into volume_metadata fails after a dozen tables went in.
      edit('car\u0000ol');
      // A byte count past 2^53, which a JavaScript number would round.
      const s = new SQLite(join(other, 'cinderbox.db'));
      s.prepare('update backups set stored_bytes = ?').run(2n ** 53n + 1n);
      s.close();
      const fresh = await newDatabase();
      const r = await copyCli(other, fresh);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^Error: copy failed, the target was rolled back: table volume_metadata, after 0 of 2 rows: .*0x00/m);
      assert.equal(r.stdout, '');
      for (const table of ['domains', 'users', 'volumes']) {
        assert.deepEqual(await sql(fresh, `select count(*)::int as n from ${table}`), [{ n: 0 }], table);
      }
      edit('carol');
      // The target can come from the server's own setting instead of the command line.
      const again = await runCli(['db', 'copy', '--from-data-dir', other], { CINDERBOX_DATABASE_URL: fresh });
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /\| volume_metadata +\| +2 \|/);
      assert.deepEqual(await sql(fresh, 'select distinct stored_bytes::text as n from backups'), [{ n: '9007199254740993' }]);
      assert.deepEqual(await sql(fresh, "select value from volume_metadata where key = 'owner'"), [{ value: 'carol' }]);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  test('without a target or with a URL that is not PostgreSQL, it is a usage error', async () => {
    const none = await runCli(['db', 'copy', '--from-data-dir', dir], { CINDERBOX_DATABASE_URL: '' });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--to is required \(or set CINDERBOX_DATABASE_URL\)/);
    const mysql = await runCli(['db', 'copy', '--from-data-dir', dir, '--to', 'mysql://x@y/z']);
    assert.equal(mysql.code, 2);
    assert.match(mysql.stderr, /--to must be a postgres:\/\/ or postgresql:\/\/ URL/);
  });
});
