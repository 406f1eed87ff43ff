import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Connection } from '../connection.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { authFor, type FakeCloud, PROJECT_ID, startFakeCloud } from '../test-support/fake-cloud.js';

const P = `/cbr/v3/${PROJECT_ID}`;
const VID = '11111111-1111-4111-8111-111111111111';
const POL = '22222222-2222-4222-8222-222222222222';
const CP = '33333333-3333-4333-8333-333333333333';
const BK = '44444444-4444-4444-8444-444444444444';
const OTHER = 'ffffffffffffffffffffffffffffffff';

let cloud: FakeCloud;
let conn: Connection;

const cbrError = (status: number, code: string, msg: string) => ({
  status,
  body: { error_code: code, error_msg: msg },
});

before(async () => {
  cloud = await startFakeCloud({ catalogTypes: [{ type: 'cbr', path: '/cbr/v3' }] });
  conn = new Connection({ auth: authFor(cloud), retry: { maxAttempts: 1 } });
  const vault = { id: VID, name: 'disks', billing: { protect_type: 'backup', object_type: 'disk', size: 40 }, resources: [] };
  cloud.route('POST', new RegExp(`^${P}/vaults$`), (req) => ({
    body: { vault: { id: VID, ...(req.body as { vault: object }).vault } },
  }));
  cloud.route('GET', new RegExp(`^${P}/vaults$`), (req) => {
    const marker = req.query.get('marker');
    if (req.query.get('name') === 'disks' || marker === null) return { body: { vaults: [vault], count: 1 } };
    return { body: { vaults: [], count: 1 } };
  });
  cloud.route('GET', new RegExp(`^${P}/vaults/${VID}$`), () => ({ body: { vault } }));
  cloud.route('GET', new RegExp(`^${P}/vaults/([^/]+)$`), () => cbrError(404, 'BackupService.6105', 'Vault not found'));
  cloud.route('PUT', new RegExp(`^${P}/vaults/${VID}$`), (req) => ({
    body: { vault: { ...vault, ...(req.body as { vault: object }).vault } },
  }));
  cloud.route('DELETE', new RegExp(`^${P}/vaults/${VID}$`), () => ({ status: 204 }));
  cloud.route('DELETE', new RegExp(`^${P}/vaults/([^/]+)$`), () => cbrError(404, 'BackupService.6105', 'Vault not found'));
  cloud.route('POST', new RegExp(`^${P}/vaults/${VID}/associatepolicy$`), (req) => {
    const id = (req.body as { policy_id: string }).policy_id;
    if (id !== POL) return cbrError(404, 'BackupService.6000', 'policy not found');
    return { body: { associate_policy: { vault_id: VID, policy_id: id } } };
  });
  cloud.route('POST', new RegExp(`^${P}/vaults/${VID}/dissociatepolicy$`), () => ({
    body: { dissociate_policy: { vault_id: VID, policy_id: POL } },
  }));
  cloud.route('POST', new RegExp(`^${P}/vaults/${VID}/addresources$`), (req) => {
    const rs = (req.body as { resources: Array<{ id: string }> }).resources;
    if (rs.some((r) => r.id === 'dup')) return cbrError(400, 'BackupService.6103', 'already in a vault');
    return { body: { add_resource_ids: rs.map((r) => r.id) } };
  });
  cloud.route('POST', new RegExp(`^${P}/vaults/${VID}/removeresources$`), (req) => ({
    body: { remove_resource_ids: (req.body as { resource_ids: string[] }).resource_ids },
  }));
  cloud.route('POST', new RegExp(`^${P}/policies$`), (req) => ({
    body: { policy: { id: POL, ...(req.body as { policy: object }).policy } },
  }));
  cloud.route('GET', new RegExp(`^${P}/policies$`), () => ({
    body: { policies: [{ id: POL, name: 'daily', operation_type: 'backup' }], count: 1 },
  }));
  let polls = 0;
  cloud.route('POST', new RegExp(`^${P}/checkpoints$`), () => ({
    body: { checkpoint: { id: CP, status: 'protecting', vault: { id: VID, name: 'disks', resources: [] } } },
  }));
  cloud.route('GET', new RegExp(`^${P}/checkpoints/${CP}$`), () => {
    polls++;
    return {
      body: {
        checkpoint: {
          id: CP,
          status: polls >= 2 ? 'error-deleting' : 'protecting',
          extra_info: { name: 'manual', retention_duration: -1 },
          // Some servers (and otcextensions' declaration) use `resource`: both are read.
          vault: {
            id: VID,
            resource: [{ id: 'vol-1', type: 'OS::Cinder::Volume', protect_status: 'protecting', resource_size: 40 }],
            skipped_resources: [{ id: 'vol-2', code: 'BackupService.6125', reason: 'busy' }],
          },
        },
      },
    };
  });
  cloud.route('POST', new RegExp(`^${P}/backups/${BK}/restore$`), () => ({ status: 202 }));
  cloud.route('GET', new RegExp(`^${P}/replication-capabilities$`), () => ({
    body: { regions: [{ name: 'here', replication_destinations: ['away'] }] },
  }));
  cloud.route('POST', new RegExp(`^${P}/backups/${BK}/replicate$`), (req) => {
    const r = (req.body as { replicate: Record<string, string> }).replicate;
    return { body: { replication: { backup_id: BK, ...r, replication_record_id: 'rec-1', source_region: 'here', project_id: PROJECT_ID } } };
  });
  cloud.route('POST', new RegExp(`^${P}/checkpoints/replicate$`), (req) => {
    const r = (req.body as { replicate: Record<string, string> }).replicate;
    return { body: { replication: { backups: [{ backup_id: BK, replication_record_id: 'rec-2' }], ...r, source_region: 'here' } } };
  });
  cloud.route('POST', new RegExp(`^${P}/backups/${BK}/members$`), (req) => ({
    body: {
      members: (req.body as { members: string[] }).members.map((p, i) => ({
        id: `rec-${i}`,
        backup_id: BK,
        dest_project_id: p,
        status: 'pending',
      })),
      count: 1,
    },
  }));
  cloud.route('PUT', new RegExp(`^${P}/backups/${BK}/members/([^/]+)$`), (req, m) => ({
    body: { member: { id: 'rec-0', backup_id: BK, dest_project_id: m[1], ...(req.body as object) } },
  }));
  cloud.route('DELETE', new RegExp(`^${P}/backups/${BK}/members/([^/]+)$`), () => ({ status: 204 }));
  cloud.route('GET', new RegExp(`^${P}/backups/${BK}/members$`), () => ({
    body: { members: [{ id: 'rec-0', dest_project_id: OTHER, status: 'pending' }], count: 1 },
  }));
  cloud.route('GET', new RegExp(`^${P}/operation-logs$`), () => ({
    body: {
      operation_logs: [
        {
          id: 'task-1',
          operation_type: 'backup',
          status: 'success',
          extra_info: { common: { progress: 100, task_id: 't' }, resource: { id: 'vol-1', type: 'OS::Cinder::Volume' } },
        },
      ],
      count: 1,
    },
  }));
});

after(async () => {
  await cloud.close();
});

const last = (method: string, path: RegExp) => {
  const r = [...cloud.requests].reverse().find((x) => x.method === method && path.test(x.path));
  assert.ok(r, `no ${method} ${path}`);
  return r;
};

describe('cbr proxy', () => {
  it('appends the project id to a catalog URL without one', async () => {
    await conn.cbr.getVault(VID);
    assert.equal(last('GET', /vaults/).path, `${P}/vaults/${VID}`);
  });

  it('creates a vault with the API names (protect_type, resources []) and reads them back as attributes', async () => {
    const v = await conn.cbr.createVault({
      name: 'disks',
      billing: { consistentLevel: 'crash_consistent', objectType: 'disk', protectType: 'backup', size: 40 },
    });
    assert.deepEqual(last('POST', /vaults$/).body, {
      vault: {
        resources: [],
        name: 'disks',
        billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 40 },
      },
    });
    assert.equal(v.billing?.protectType, 'backup');
    assert.equal(v.billing?.objectType, 'disk');
  });

  it('sends the cinderbox backup_target of a new vault', async () => {
    await conn.cbr.createVault({
      name: 'offsite-disks',
      backupTarget: 'offsite',
      billing: { consistentLevel: 'crash_consistent', objectType: 'disk', protectType: 'backup', size: 40 },
    });
    assert.equal((last('POST', /vaults$/).body as { vault: Record<string, unknown> }).vault.backup_target, 'offsite');
  });

  it('sends the cinderbox lock_days of a new immutable vault', async () => {
    await conn.cbr.createVault({
      name: 'locked-disks',
      lockDays: 30,
      billing: { consistentLevel: 'crash_consistent', objectType: 'disk', protectType: 'backup', size: 40 },
    });
    assert.equal((last('POST', /vaults$/).body as { vault: Record<string, unknown> }).vault.lock_days, 30);
  });

  it('lists with resource_ids (not resources_ids), finds by name, updates without the id in the body', async () => {
    await conn.cbr.vaults({ resourceIds: 'vol-1' }).toArray();
    assert.equal(last('GET', /vaults$/).query.get('resource_ids'), 'vol-1');
    assert.equal(last('GET', /vaults$/).query.get('resources_ids'), null);
    assert.equal((await conn.cbr.findVault('disks'))?.id, VID);
    assert.equal(last('GET', /vaults$/).query.get('name'), 'disks');
    await conn.cbr.updateVault(VID, { name: 'renamed' });
    assert.deepEqual(last('PUT', /vaults/).body, { vault: { name: 'renamed' } });
  });

  it('paginates with limit and marker and stops on a short page', async () => {
    const before = cloud.requests.length;
    const all = await conn.cbr.vaults({}, { limit: 1 }).toArray();
    assert.equal(all.length, 1);
    const calls = cloud.requests.slice(before).filter((r) => r.path.endsWith('/vaults'));
    assert.deepEqual(
      calls.map((r) => r.query.get('marker')),
      [null, VID],
    );
  });

  it('bind/unbind policy and associate/dissociate resources return typed results and raise errors', async () => {
    assert.deepEqual(await conn.cbr.bindPolicy(VID, POL), { vaultId: VID, policyId: POL });
    assert.deepEqual(last('POST', /associatepolicy$/).body, { policy_id: POL });
    const e = await conn.cbr.bindPolicy(VID, '99999999-9999-4999-8999-999999999999').catch((x: unknown) => x);
    assert.ok(e instanceof NotFoundError);
    assert.equal(e.fault, 'BackupService.6000');
    assert.equal(e.details, 'policy not found');
    assert.deepEqual(await conn.cbr.unbindPolicy(VID, POL), { vaultId: VID, policyId: POL });

    const added = await conn.cbr.associateResources(VID, [
      { id: 'vol-1', type: 'OS::Cinder::Volume', extraInfo: { excludeVolumes: ['d1'] } },
    ]);
    assert.deepEqual(added, ['vol-1']);
    assert.deepEqual(last('POST', /addresources$/).body, {
      resources: [{ id: 'vol-1', type: 'OS::Cinder::Volume', extra_info: { exclude_volumes: ['d1'] } }],
    });
    await assert.rejects(conn.cbr.associateResources(VID, [{ id: 'dup', type: 'OS::Cinder::Volume' }]), BadRequestError);
    assert.deepEqual(await conn.cbr.dissociateResources(VID, ['vol-1']), ['vol-1']);
    assert.deepEqual(last('POST', /removeresources$/).body, { resource_ids: ['vol-1'] });
  });

  it('deletes vaults with ignoreMissing honoured', async () => {
    await conn.cbr.deleteVault(VID);
    await conn.cbr.deleteVault('00000000-0000-4000-8000-000000000000', { ignoreMissing: true });
    await assert.rejects(conn.cbr.deleteVault('00000000-0000-4000-8000-000000000000'), NotFoundError);
  });

  it('policies: nested definition and trigger in API names; find lists and matches by name', async () => {
    const p = await conn.cbr.createPolicy({
      name: 'daily',
      operationType: 'backup',
      operationDefinition: { maxBackups: 7, timezone: 'UTC+01:00' },
      trigger: { properties: { pattern: ['FREQ=DAILY;INTERVAL=1;BYHOUR=2;BYMINUTE=0'] } },
    });
    assert.deepEqual(last('POST', /policies$/).body, {
      policy: {
        name: 'daily',
        operation_type: 'backup',
        operation_definition: { max_backups: 7, timezone: 'UTC+01:00' },
        trigger: { properties: { pattern: ['FREQ=DAILY;INTERVAL=1;BYHOUR=2;BYMINUTE=0'] } },
      },
    });
    assert.equal(p.operationDefinition?.maxBackups, 7);
    assert.equal((await conn.cbr.findPolicy('daily'))?.id, POL);
    assert.equal(last('GET', /policies$/).query.get('name'), null, 'the API has no name filter');
  });

  it('checkpoints: resource_details is an array with `type`; vault.resource(s) read; error-deleting is a failure', async () => {
    const cp = await conn.cbr.createCheckpoint({
      vaultId: VID,
      parameters: {
        name: 'manual',
        incremental: false,
        resourceDetails: [
          {
            id: 'srv-1',
            resourceType: 'OS::Nova::Server',
            extraInfo: { includeVolumes: [{ id: 'd1', osVersion: 'linux' }] },
          },
        ],
      },
    });
    assert.deepEqual(last('POST', /checkpoints$/).body, {
      checkpoint: {
        vault_id: VID,
        parameters: {
          name: 'manual',
          incremental: false,
          resource_details: [
            { id: 'srv-1', type: 'OS::Nova::Server', extra_info: { include_volumes: [{ id: 'd1', os_version: 'linux' }] } },
          ],
        },
      },
    });
    assert.equal(cp.status, 'protecting');
    const r = await conn.cbr.waitForCheckpoint(cp, { minDelayMs: 1, maxDelayMs: 2, waitTimeoutMs: 5000 });
    assert.equal(r.state, 'failure');
    assert.equal(r.status, 'error-deleting');
    assert.deepEqual(cp.vault?.resources?.[0], {
      id: 'vol-1',
      type: 'OS::Cinder::Volume',
      protectStatus: 'protecting',
      resourceSize: 40,
    });
    assert.equal(cp.vault?.skippedResources?.[0]?.code, 'BackupService.6125');
    assert.equal(cp.extraInfo?.retentionDuration, -1);
  });

  it('restore posts {"restore": …} to the backup and returns a Restore', async () => {
    const r = await conn.cbr.restoreData(BK, { volumeId: 'vol-9', powerOn: true });
    assert.deepEqual(last('POST', /restore$/).body, { restore: { volume_id: 'vol-9', power_on: true } });
    assert.equal(r.backupId, BK);
    assert.equal(r.volumeId, 'vol-9');
  });

  it('replication: capabilities, backup and checkpoint replicate send {"replicate": …} and read {"replication": …}', async () => {
    assert.deepEqual(await conn.cbr.replicationCapabilities(), [{ name: 'here', replicationDestinations: ['away'] }]);
    const dest = { destinationProjectId: PROJECT_ID, destinationRegion: 'away', destinationVaultId: VID };
    const r = await conn.cbr.replicateBackup(BK, { ...dest, name: 'copy' });
    assert.deepEqual(last('POST', /backups\/.*\/replicate$/).body, {
      replicate: { destination_project_id: PROJECT_ID, destination_region: 'away', destination_vault_id: VID, name: 'copy' },
    });
    assert.equal(r.replicationRecordId, 'rec-1');
    assert.equal(r.sourceRegion, 'here');
    assert.equal(r.destinationVaultId, VID);
    const c = await conn.cbr.replicateCheckpoint({ ...dest, vaultId: VID });
    assert.deepEqual(last('POST', /checkpoints\/replicate$/).body, {
      replicate: { vault_id: VID, destination_project_id: PROJECT_ID, destination_region: 'away', destination_vault_id: VID },
    });
    assert.deepEqual(c.backups, [{ backupId: BK, replicationRecordId: 'rec-2' }]);
    assert.equal(c.vaultId, VID);
  });

  it('members: add returns the shares, update sends the unwrapped body without nulls, delete uses the project id', async () => {
    const before = cloud.requests.length;
    const [m] = await conn.cbr.addMembers(BK, [OTHER]);
    assert.equal(cloud.requests.length - before, 1, 'no GET per member');
    assert.equal(m?.destProjectId, OTHER);
    await conn.cbr.updateMember(BK, OTHER, { status: 'rejected' });
    assert.deepEqual(last('PUT', /members/).body, { status: 'rejected' });
    const accepted = await conn.cbr.updateMember(BK, OTHER, { status: 'accepted', vaultId: VID });
    assert.deepEqual(last('PUT', /members/).body, { status: 'accepted', vault_id: VID });
    assert.equal(accepted.status, 'accepted');
    const [listed] = await conn.cbr.members(BK).toArray();
    assert.ok(listed);
    await conn.cbr.deleteMember(BK, listed);
    assert.equal(last('DELETE', /members/).path, `${P}/backups/${BK}/members/${OTHER}`);
  });

  it('tasks: API filters go to the server; extra_info.resource is read', async () => {
    const [t] = await conn.cbr.tasks({ status: 'success', vaultId: VID, operationType: 'backup' }).toArray();
    const q = last('GET', /operation-logs$/).query;
    assert.equal(q.get('status'), 'success');
    assert.equal(q.get('vault_id'), VID);
    assert.equal(q.get('operation_type'), 'backup');
    assert.equal(t?.extraInfo?.common?.progress, 100);
    assert.equal(t?.extraInfo?.resource?.id, 'vol-1');
  });
});
