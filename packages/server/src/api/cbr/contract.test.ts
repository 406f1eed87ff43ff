/**
 * The CBR contract against the real server: every operation of `cbrOperations` is driven once (a success, plus a
 * few refusals), each request body is checked to be one the contract accepts, and each response body is validated
 * against the contract's schema for the status it came with. An operation never reached, or a response the contract
 * does not describe, fails the test.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cbrOperations, type Operation } from '@cinderbox/api-schema';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseBackupTarget } from '../../config/backup-targets.js';
import { type TestServer, waitFor } from '../../test-support/harness.js';
import { admin, type Caller, cbr, createVolume, noise, startCbrServer, waitCheckpoint, waitVolume, writeVolume } from './test-support/cbr.js';

const DISK = 'OS::Cinder::Volume';
const NO_SUCH = '00000000-0000-4000-8000-000000000000';
const ajv = new Ajv({ strict: false, allErrors: true });
const compiled = new WeakMap<object, ValidateFunction>();
function validator(schema: object): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) compiled.set(schema, (fn = ajv.compile(schema)));
  return fn;
}

const byId = new Map(cbrOperations.map((op) => [op.id, op]));
/** Operations answered with a success, by id. */
const succeeded = new Set<string>();

interface Call {
  params?: Record<string, string>;
  query?: string;
  body?: unknown;
  /** Send the body even though the contract refuses it (the refusals below). */
  unchecked?: boolean;
}

describe('CBR contract: every operation against the real server', () => {
  let ts: TestServer;
  let dir: string;
  let me: Caller;
  let them: Caller;

  /** Sends `opId` as its contract describes it and checks the answer against the contract; returns the response. */
  async function call(who: Caller, opId: string, c: Call = {}) {
    const op: Operation | undefined = byId.get(opId);
    assert.ok(op, `no operation ${opId}`);
    if (c.body !== undefined && op.body && !c.unchecked) {
      const ok = validator(op.body);
      assert.ok(ok(c.body), `${opId}: the contract refuses the request body: ${ajv.errorsText(ok.errors)}`);
    }
    const path = op.path
      .replace(/^\/v3\/\{project_id\}/, '')
      .replace(/\{([a-z_]+)\}/g, (_, name: string) => encodeURIComponent(c.params?.[name] ?? assert.fail(`${opId}: no ${name}`)));
    const r = await cbr(ts, who, op.method, `${path}${c.query ? `?${c.query}` : ''}`, c.body);
    const described = op.responses.find((x) => x.status === r.status);
    assert.ok(described, `${opId}: status ${r.status} is not in the contract: ${r.text.slice(0, 300)}`);
    if (described.body) {
      const ok = validator(described.body);
      assert.ok(ok(r.body), `${opId} ${r.status}: the body breaks the contract: ${ajv.errorsText(ok.errors)}\n${r.text.slice(0, 2000)}`);
    } else assert.equal(r.text, '', `${opId} ${r.status}: the contract says no body`);
    if (r.status < 300) succeeded.add(opId);
    return r;
  }

  async function ok(who: Caller, opId: string, c: Call = {}) {
    const r = await call(who, opId, c);
    assert.ok(r.status < 300, `${opId}: ${r.status} ${r.text.slice(0, 500)}`);
    return r;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cbx-contract-'));
    ts = await startCbrServer(
      {
        backupTargets: [parseBackupTarget(`away=file://${join(dir, 'away')}`)],
        defaultBackupTarget: 'default',
        regions: [
          { name: 'here', target: 'default' },
          { name: 'away', target: 'away' },
        ],
      },
      undefined,
      { cbr: { shareDiskBackups: true } },
    );
    me = admin(ts);
    them = await ts.createMember('cbr-contract-member');
  });
  after(async () => {
    await ts.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves every operation as the contract describes it', async () => {
    const vol = await createVolume(ts, me, 'c1');
    const vol2 = await createVolume(ts, me, 'c2');
    await writeVolume(ts, vol, 0, noise(64 * 1024));
    const billing = { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 10 };

    // Vaults.
    const v = (
      await ok(me, 'vaultCreate', {
        body: { vault: { name: 'contract', billing, resources: [{ id: vol, type: DISK }], tags: [{ key: 'env', value: 'test' }] } },
      })
    ).body.vault;
    const other = (await ok(me, 'vaultCreate', { body: { vault: { name: 'other', billing, resources: [] } } })).body.vault;
    const away = (await ok(me, 'vaultCreate', { body: { vault: { name: 'away', billing, resources: [], backup_target: 'away' } } })).body.vault;
    await ok(me, 'vaultList', { query: 'limit=10&offset=0' });
    await ok(me, 'vaultGet', { params: { vault_id: v.id } });
    await ok(me, 'vaultUpdate', { params: { vault_id: v.id }, body: { vault: { name: 'contract2', threshold: 70 } } });
    await ok(me, 'vaultAddResources', { params: { vault_id: v.id }, body: { resources: [{ id: vol2, type: DISK }] } });
    await ok(me, 'vaultMigrateResources', { params: { vault_id: v.id }, body: { resource_ids: [vol2], destination_vault_id: other.id } });
    await ok(me, 'vaultRemoveResources', { params: { vault_id: other.id }, body: { resource_ids: [vol2] } });

    // Tags.
    await ok(me, 'vaultTagCreate', { params: { vault_id: v.id }, body: { tag: { key: 'team', value: 'a' } } });
    await ok(me, 'vaultTagAction', { params: { vault_id: v.id }, body: { action: 'create', tags: [{ key: 'x', value: '1' }] } });
    await ok(me, 'vaultTagList', { params: { vault_id: v.id } });
    await ok(me, 'vaultProjectTags');
    await ok(me, 'vaultTagDelete', { params: { vault_id: v.id, key: 'team' } });

    // Policies.
    const trigger = { properties: { pattern: ['FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=3;BYMINUTE=00'] } };
    const p = (
      await ok(me, 'policyCreate', {
        body: { policy: { name: 'weekly', operation_type: 'backup', operation_definition: { max_backups: 3, day_backups: 2, timezone: 'UTC+01:00' }, trigger } },
      })
    ).body.policy;
    const rp = (
      await ok(me, 'policyCreate', {
        body: {
          policy: {
            name: 'copy',
            operation_type: 'replication',
            operation_definition: { destination_region: 'away', destination_project_id: me.projectId, max_backups: 2 },
            trigger,
          },
        },
      })
    ).body.policy;
    await ok(me, 'policyList', { query: 'operation_type=backup' });
    await ok(me, 'policyGet', { params: { policy_id: p.id } });
    await ok(me, 'policyUpdate', { params: { policy_id: p.id }, body: { policy: { name: 'weekly2', enabled: false } } });
    await ok(me, 'vaultAssociatePolicy', { params: { vault_id: v.id }, body: { policy_id: p.id } });
    await ok(me, 'vaultAssociatePolicy', { params: { vault_id: v.id }, body: { policy_id: rp.id, destination_vault_id: away.id } });
    await ok(me, 'policyGet', { params: { policy_id: rp.id } });
    await ok(me, 'vaultGet', { params: { vault_id: v.id } });
    await ok(me, 'vaultDissociatePolicy', { params: { vault_id: v.id }, body: { policy_id: rp.id } });

    // Restore points and backups.
    const cp = (await ok(me, 'checkpointCreate', { body: { checkpoint: { vault_id: v.id, parameters: { name: 'bk_1', description: 'contract' } } } })).body
      .checkpoint;
    await waitCheckpoint(ts, me, cp.id);
    await ok(me, 'checkpointGet', { params: { checkpoint_id: cp.id } });
    const [b] = (await ok(me, 'backupList', { query: `checkpoint_id=${cp.id}&sort=created_at:asc&status=available,error` })).body.backups;
    assert.equal(b.status, 'available');
    await ok(me, 'backupGet', { params: { backup_id: b.id } });

    // Replication to the other region.
    await ok(me, 'replicationCapabilities');
    const dest = { destination_vault_id: away.id, destination_region: 'away', destination_project_id: me.projectId };
    const rep = (await ok(me, 'backupReplicate', { params: { backup_id: b.id }, body: { replicate: { ...dest, name: 'copy_1' } } })).body.replication;
    await waitFor(async () => {
      const r = await cbr(ts, me, 'GET', `/backups?vault_id=${away.id}`);
      return r.body.backups.some((x: { status: string }) => x.status === 'available') ? true : null;
    }, `replica ${rep.replication_record_id}`);
    await ok(me, 'checkpointReplicate', { body: { replicate: { vault_id: v.id, ...dest, auto_trigger: false } } });
    await ok(me, 'backupList', { query: `vault_id=${away.id}` });
    await ok(me, 'backupGet', { params: { backup_id: b.id } });

    // Share members.
    const theirs = (
      await ok(them, 'vaultCreate', { body: { vault: { name: 'theirs', billing, resources: [] } } })
    ).body.vault;
    await ok(me, 'memberCreate', { params: { backup_id: b.id }, body: { members: [them.projectId] } });
    await ok(me, 'memberList', { params: { backup_id: b.id }, query: 'limit=5' });
    await ok(me, 'memberGet', { params: { backup_id: b.id, member_id: them.projectId } });
    await ok(them, 'memberUpdate', { params: { backup_id: b.id, member_id: them.projectId }, body: { status: 'accepted', vault_id: theirs.id } });
    await ok(them, 'backupGet', { params: { backup_id: b.id } });
    await ok(them, 'backupList', { query: 'own_type=all_granted' });
    await ok(me, 'memberDelete', { params: { backup_id: b.id, member_id: them.projectId } });

    // Restore onto the disk, then the logs of all of it.
    await ok(me, 'backupRestore', { params: { backup_id: b.id }, body: { restore: { volume_id: vol } } });
    await waitVolume(ts, me, vol, 'available');
    await waitFor(async () => ((await cbr(ts, me, 'GET', '/operation-logs?operation_type=restore&status=success')).body.count === 1 ? true : null), 'restore log');
    const logs = (await ok(me, 'operationLogList', { query: 'operation_type=backup&operation_type=restore&limit=50' })).body.operation_logs;
    assert.ok(logs.length >= 2);
    await ok(me, 'operationLogGet', { params: { operation_log_id: logs[0].id } });

    // Deletes.
    await ok(me, 'backupDelete', { params: { backup_id: b.id } });
    await ok(me, 'policyDelete', { params: { policy_id: p.id } });
    await ok(me, 'vaultDelete', { params: { vault_id: other.id } });

    assert.deepEqual(
      cbrOperations.map((op) => op.id).filter((id) => !succeeded.has(id)),
      [],
      'operations never answered with a success',
    );
  });

  it('refuses what the contract refuses, with CBR error bodies and the codes the contract names', async () => {
    const billing = { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 10 };
    const cases: [string, Call, string][] = [
      ['vaultCreate', { body: { vault: { name: 'x', billing: { ...billing, size: 0 }, resources: [] } } }, 'BackupService.6101'],
      ['vaultCreate', { body: { vault: { name: 'x', billing: { ...billing, object_type: 'tape' }, resources: [] } } }, 'BackupService.6116'],
      ['vaultCreate', { body: { vault: { name: 'x', billing: { ...billing, consistent_level: undefined, object_type: undefined }, resources: [] } } }, 'BackupService.6116'],
      ['vaultCreate', { body: { vault: { name: '', billing, resources: [] } } }, 'BackupService.9900'],
      ['vaultCreate', { body: { vault: { name: 'x', billing, resources: [], tags: [{ key: 'a=b' }] } } }, 'BackupService.9900'],
      ['vaultCreate', { body: [] }, 'BackupService.9900'],
      ['policyCreate', { body: { policy: { name: 'p', operation_type: 'sync', operation_definition: {}, trigger: { properties: { pattern: ['FREQ=DAILY;BYHOUR=1;BYMINUTE=0'] } } } } }, 'BackupService.6117'],
      ['policyCreate', { body: { policy: { name: 'p', operation_definition: {}, trigger: { properties: { pattern: ['FREQ=DAILY;BYHOUR=1;BYMINUTE=0'] } } } } }, 'BackupService.6117'],
      ['vaultList', { query: 'limit=0' }, 'BackupService.9900'],
      ['backupList', { query: 'sort=name:sideways' }, 'BackupService.9900'],
      ['backupList', { query: 'status=available&status=gone' }, 'BackupService.9900'],
      ['operationLogList', { query: 'start_time=yesterday' }, 'BackupService.9900'],
      ['policyList', { query: 'operation_type=sync' }, 'BackupService.9900'],
      ['memberUpdate', { params: { backup_id: NO_SUCH, member_id: NO_SUCH }, body: { status: 'accepted', vault_id: null } }, 'BackupService.9900'],
      ['memberCreate', { params: { backup_id: NO_SUCH }, body: { members: ['not-a-project'] } }, 'BackupService.6704'],
    ];
    for (const [opId, c, code] of cases) {
      const r = await call(me, opId, { ...c, unchecked: true });
      assert.deepEqual([r.status, r.body.error_code], [400, code], `${opId} ${JSON.stringify(c)}: ${r.text}`);
    }
    // Messages name the field and the rule, with the contract's description of what is allowed.
    const size = await call(me, 'vaultCreate', { body: { vault: { name: 'x', billing: { ...billing, size: 0 }, resources: [] } }, unchecked: true });
    assert.equal(size.body.error_msg, 'vault.billing.size must be >= 1 (GB, 1-10485760).');
    const missing = await call(me, 'vaultCreate', { body: { vault: { name: 'x', resources: [] } }, unchecked: true });
    assert.equal(missing.body.error_msg, 'vault.billing is required.');
    const limit = await call(me, 'vaultList', { query: 'limit=abc' });
    assert.equal(limit.body.error_msg, 'Query parameter limit must be an integer 1-1000.');
    // A resource named twice is the contract's 6104 (uniqueItems), before the vault is even looked up.
    const twice = await call(me, 'vaultRemoveResources', { params: { vault_id: NO_SUCH }, body: { resource_ids: ['a', 'a'] }, unchecked: true });
    assert.deepEqual([twice.status, twice.body.error_code], [400, 'BackupService.6104']);
    const gone = await call(me, 'vaultGet', { params: { vault_id: NO_SUCH } });
    assert.deepEqual([gone.status, gone.body.error_code], [404, 'BackupService.6105']);
  });
});
