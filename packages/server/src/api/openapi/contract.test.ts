/**
 * The contract test: the main Block Storage and identity operations are driven against a live server at several
 * microversions, every request and response is recorded, and each is checked against the contract at the
 * microversion it was sent with (request body and query, response body for its status, error bodies, and no field
 * shown before the microversion that adds it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BLOCK_STORAGE_MAX_MICROVERSION, compareMicroversion } from '@cinderbox/api-schema';
import { startTestServer, type TestServer, waitFor } from '../../test-support/harness.js';
import { SERVED_OPERATIONS } from './operations.js';
import { checkExchange, ContractIndex, type Exchange, recorder } from './test-support/contract.js';

const VERSIONS = ['3.0', '3.43', BLOCK_STORAGE_MAX_MICROVERSION];

describe('requests and responses follow the contract', () => {
  let ts: TestServer;
  let exchanges: Exchange[];
  before(async () => {
    ts = await startTestServer();
    const rec = recorder(ts);
    exchanges = rec.exchanges;
    const rq = rec.request;
    const token = ts.adminToken;
    const P = `/v3/${ts.adminProjectId}`;
    const at = (mv: string) => ({ token, mv });
    const atLeast = (mv: string, min: string) => compareMicroversion(mv, min) >= 0;
    const waitStatus = (mv: string, path: string, key: string, status: string) =>
      waitFor(async () => (await rq('GET', path, at(mv))).body?.[key]?.status === status, `${path} ${status}`);

    // Version documents and identity, once.
    await rq('GET', '/');
    await rq('GET', '/v3/');
    await rq('GET', '/identity/v3/');
    const auth = {
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: 'admin-secret-for-tests' } } },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    };
    const issued = await rq('POST', '/identity/v3/auth/tokens', { body: auth });
    await rq('GET', '/identity/v3/auth/tokens', { token, headers: { 'X-Subject-Token': issued.headers.get('x-subject-token')! } });
    await rq('GET', '/identity/v3/auth/projects', { token });
    await rq('GET', '/identity/v3/domains', { token });
    await rq('GET', '/identity/v3/domains/default', { token });
    const project = await rq('POST', '/identity/v3/projects', { token, body: { project: { name: 'contract', domain_id: 'default', description: 'x' } } });
    await rq('GET', `/identity/v3/projects/${project.body.project.id}`, { token });
    await rq('PATCH', `/identity/v3/projects/${project.body.project.id}`, { token, body: { project: { description: 'y' } } });
    await rq('GET', '/identity/v3/projects?name=contract', { token });
    const user = await rq('POST', '/identity/v3/users', { token, body: { user: { name: 'contract', password: 'pw-contract', email: 'c@example.org' } } });
    await rq('GET', `/identity/v3/users/${user.body.user.id}`, { token });
    await rq('GET', '/identity/v3/users', { token });
    const roles = await rq('GET', '/identity/v3/roles', { token });
    const role = roles.body.roles[0].id as string;
    await rq('GET', `/identity/v3/roles/${role}`, { token });
    await rq('PUT', `/identity/v3/projects/${project.body.project.id}/users/${user.body.user.id}/roles/${role}`, { token });
    await rq('GET', `/identity/v3/projects/${project.body.project.id}/users/${user.body.user.id}/roles`, { token });
    await rq('GET', `/identity/v3/role_assignments?user.id=${user.body.user.id}&include_names=true`, { token });
    await rq('PATCH', '/identity/v3/users/nope', { token, body: { user: { enabled: 'yes' } } });
    await rq('DELETE', `/identity/v3/users/${user.body.user.id}`, { token });
    await rq('DELETE', `/identity/v3/projects/${project.body.project.id}`, { token });

    for (const mv of VERSIONS) {
      const vol = await rq('POST', `${P}/volumes`, { ...at(mv), body: { volume: { size: 1, name: `c-${mv}`, metadata: { a: 'b' } } } });
      const volumeId = vol.body.volume.id as string;
      await waitStatus(mv, `${P}/volumes/${volumeId}`, 'volume', 'available');
      await rq('GET', `${P}/volumes?limit=5&sort=name:asc`, at(mv));
      await rq('GET', `${P}/volumes/detail`, at(mv));
      if (atLeast(mv, '3.12')) await rq('GET', `${P}/volumes/summary`, at(mv));
      await rq('PUT', `${P}/volumes/${volumeId}`, { ...at(mv), body: { volume: { description: 'contract' } } });
      await rq('POST', `${P}/volumes/${volumeId}/metadata`, { ...at(mv), body: { metadata: { k: 'v' } } });
      await rq('GET', `${P}/volumes/${volumeId}/metadata`, at(mv));
      await rq('GET', `${P}/volumes/${volumeId}/metadata/k`, at(mv));
      await rq('PUT', `${P}/volumes/${volumeId}/metadata/k`, { ...at(mv), body: { meta: { k: 'w' } } });
      await rq('DELETE', `${P}/volumes/${volumeId}/metadata/k`, at(mv));
      await rq('POST', `${P}/volumes/${volumeId}/action`, { ...at(mv), body: { 'os-set_bootable': { bootable: true } } });
      await rq('POST', `${P}/volumes/${volumeId}/action`, { ...at(mv), body: { 'os-update_readonly_flag': { readonly: false } } });
      await rq('POST', `${P}/volumes/${volumeId}/action`, { ...at(mv), body: { 'os-extend': { new_size: 2 } } });
      await waitFor(async () => (await rq('GET', `${P}/volumes/${volumeId}`, at(mv))).body?.volume?.size === 2, 'extended');
      // Bad input answers a fault in Cinder's shape.
      await rq('POST', `${P}/volumes`, { ...at(mv), body: { volume: { size: 'lots' } } });

      const snap = await rq('POST', `${P}/snapshots`, { ...at(mv), body: { snapshot: { volume_id: volumeId, name: `s-${mv}` } } });
      const snapshotId = snap.body.snapshot.id as string;
      await waitStatus(mv, `${P}/snapshots/${snapshotId}`, 'snapshot', 'available');
      await rq('GET', `${P}/snapshots`, at(mv));
      await rq('GET', `${P}/snapshots/detail`, at(mv));
      await rq('PUT', `${P}/snapshots/${snapshotId}`, { ...at(mv), body: { snapshot: { description: 'contract' } } });
      await rq('GET', `${P}/snapshots/${snapshotId}/metadata`, at(mv));

      const backup = await rq('POST', `${P}/backups`, { ...at(mv), body: { backup: { volume_id: volumeId, name: `b-${mv}`, ...(atLeast(mv, '3.43') ? { metadata: { m: '1' } } : {}) } } });
      const backupId = backup.body.backup.id as string;
      await waitStatus(mv, `${P}/backups/${backupId}`, 'backup', 'available');
      await rq('GET', `${P}/backups`, at(mv));
      await rq('GET', `${P}/backups/detail`, at(mv));
      if (atLeast(mv, '3.9')) await rq('PUT', `${P}/backups/${backupId}`, { ...at(mv), body: { backup: { description: 'contract' } } });
      await rq('GET', `${P}/backups/${backupId}/export_record`, at(mv));

      const transfers = atLeast(mv, '3.55') ? 'volume-transfers' : 'os-volume-transfer';
      const tv = await rq('POST', `${P}/volumes`, { ...at(mv), body: { volume: { size: 1 } } });
      await waitStatus(mv, `${P}/volumes/${tv.body.volume.id}`, 'volume', 'available');
      const transfer = await rq('POST', `${P}/${transfers}`, { ...at(mv), body: { transfer: { volume_id: tv.body.volume.id, name: 't' } } });
      await rq('GET', `${P}/${transfers}`, at(mv));
      await rq('GET', `${P}/${transfers}/detail`, at(mv));
      await rq('GET', `${P}/${transfers}/${transfer.body.transfer.id}`, at(mv));
      await rq('DELETE', `${P}/${transfers}/${transfer.body.transfer.id}`, at(mv));

      if (atLeast(mv, '3.27')) {
        const a = await rq('POST', `${P}/attachments`, { ...at(mv), body: { attachment: { volume_uuid: tv.body.volume.id, instance_uuid: '8c2f1b0e-3a4d-4e5f-9a6b-7c8d9e0f1a2b' } } });
        await rq('GET', `${P}/attachments`, at(mv));
        await rq('GET', `${P}/attachments/detail`, at(mv));
        await rq('GET', `${P}/attachments/${a.body.attachment.id}`, at(mv));
        await rq('DELETE', `${P}/attachments/${a.body.attachment.id}`, at(mv));
      }
      if (atLeast(mv, '3.3')) await rq('GET', `${P}/messages`, at(mv));
      if (atLeast(mv, '3.11')) await rq('GET', `${P}/group_types`, at(mv));
      if (atLeast(mv, '3.13')) await rq('GET', `${P}/groups/detail`, at(mv));
      if (atLeast(mv, '3.33')) await rq('GET', `${P}/resource_filters`, at(mv));
      const types = await rq('GET', `${P}/types`, at(mv));
      await rq('GET', `${P}/types/${types.body.volume_types[0].id}`, at(mv));
      await rq('GET', `${P}/qos-specs`, at(mv));
      await rq('GET', `${P}/limits`, at(mv));
      await rq('GET', `${P}/os-quota-sets/${ts.adminProjectId}`, at(mv));
      await rq('GET', `${P}/os-quota-sets/${ts.adminProjectId}?usage=true`, at(mv));
      await rq('GET', `${P}/os-services`, at(mv));
      await rq('GET', `${P}/os-availability-zone`, at(mv));
      await rq('GET', `${P}/extensions`, at(mv));
      await rq('GET', `${P}/volumes/${crypto.randomUUID()}`, at(mv));
      if (mv === BLOCK_STORAGE_MAX_MICROVERSION) {
        // The admin resources' writes, once.
        const type = await rq('POST', `${P}/types`, { ...at(mv), body: { volume_type: { name: 'contract', description: 'd', extra_specs: { a: 'b' } } } });
        const typeId = type.body.volume_type.id as string;
        await rq('PUT', `${P}/types/${typeId}`, { ...at(mv), body: { volume_type: { description: 'e' } } });
        await rq('POST', `${P}/types/${typeId}/extra_specs`, { ...at(mv), body: { extra_specs: { c: 'd' } } });
        await rq('PUT', `${P}/types/${typeId}/extra_specs/c`, { ...at(mv), body: { c: 'e' } });
        await rq('GET', `${P}/types/${typeId}/extra_specs`, at(mv));
        const qos = await rq('POST', `${P}/qos-specs`, { ...at(mv), body: { qos_specs: { name: 'contract', consumer: 'back-end', total_iops_sec: '100' } } });
        const qosId = qos.body.qos_specs.id as string;
        await rq('PUT', `${P}/qos-specs/${qosId}`, { ...at(mv), body: { qos_specs: { read_iops_sec: '10' } } });
        await rq('PUT', `${P}/qos-specs/${qosId}/delete_keys`, { ...at(mv), body: { keys: ['read_iops_sec'] } });
        await rq('GET', `${P}/qos-specs/${qosId}`, at(mv));
        await rq('DELETE', `${P}/qos-specs/${qosId}`, at(mv));
        await rq('DELETE', `${P}/types/${typeId}`, at(mv));
        const gt = await rq('POST', `${P}/group_types`, { ...at(mv), body: { group_type: { name: 'contract', group_specs: { consistent_group_snapshot_enabled: '<is> False' } } } });
        await rq('GET', `${P}/group_types/${gt.body.group_type.id}`, at(mv));
        await rq('POST', `${P}/group_types/${gt.body.group_type.id}/group_specs`, { ...at(mv), body: { group_specs: { k: 'v' } } });
        await rq('GET', `${P}/group_types/${gt.body.group_type.id}/group_specs`, at(mv));
        await rq('GET', `${P}/group_types/${gt.body.group_type.id}/group_specs/k`, at(mv));
        await rq('PUT', `${P}/group_types/${gt.body.group_type.id}/group_specs/k`, { ...at(mv), body: { k: 'w' } });
        await rq('DELETE', `${P}/group_types/${gt.body.group_type.id}`, at(mv));
        // Type encryption: none yet, then created, read whole and by key, updated, deleted.
        const et = await rq('POST', `${P}/types`, { ...at(mv), body: { volume_type: { name: 'contract-encrypted' } } });
        const etId = et.body.volume_type.id as string;
        await rq('GET', `${P}/types/${etId}/encryption`, at(mv));
        const enc = await rq('POST', `${P}/types/${etId}/encryption`, { ...at(mv), body: { encryption: { provider: 'luks', control_location: 'front-end', cipher: 'aes-xts-plain64', key_size: 256 } } });
        await rq('GET', `${P}/types/${etId}/encryption`, at(mv));
        await rq('GET', `${P}/types/${etId}/encryption/provider`, at(mv));
        await rq('PUT', `${P}/types/${etId}/encryption/${enc.body.encryption.encryption_id}`, { ...at(mv), body: { encryption: { key_size: 512 } } });
        await rq('DELETE', `${P}/types/${etId}/encryption/${enc.body.encryption.encryption_id}`, at(mv));
        await rq('DELETE', `${P}/types/${etId}`, at(mv));
        // Services, hosts and capabilities (the switches put back as they were).
        const services = await rq('GET', `${P}/os-services?binary=cinder-volume`, at(mv));
        const volumeHost = services.body.services[0].host as string;
        await rq('PUT', `${P}/os-services/disable-log-reason`, { ...at(mv), body: { host: volumeHost, binary: 'cinder-volume', disabled_reason: 'contract' } });
        await rq('PUT', `${P}/os-services/enable`, { ...at(mv), body: { host: volumeHost, binary: 'cinder-volume' } });
        await rq('PUT', `${P}/os-services/get-log`, { ...at(mv), body: { binary: 'cinder-volume' } });
        await rq('GET', `${P}/os-hosts`, at(mv));
        await rq('GET', `${P}/os-hosts/${encodeURIComponent(volumeHost)}`, at(mv));
        await rq('GET', `${P}/capabilities/${encodeURIComponent(volumeHost)}`, at(mv));
        // Manageable lists, current and legacy spellings.
        const pool = `${volumeHost}#${volumeHost.split('@')[1]}`;
        await rq('GET', `${P}/manageable_volumes?host=${encodeURIComponent(pool)}`, at(mv));
        await rq('GET', `${P}/manageable_volumes/detail?host=${encodeURIComponent(pool)}`, at(mv));
        await rq('GET', `${P}/manageable_snapshots/detail?host=${encodeURIComponent(pool)}`, at(mv));
        await rq('GET', `${P}/os-volume-manage/detail?host=${encodeURIComponent(pool)}`, at(mv));
        // cinderbox extensions: backup progress and the repository's verify and gc.
        await rq('GET', `${P}/backups/${backupId}/cinderbox-progress`, at(mv));
        await rq('POST', `${P}/cinderbox-repo/verify`, { ...at(mv), body: {} });
        await rq('POST', `${P}/cinderbox-repo/gc`, { ...at(mv), body: { dry_run: true } });
        await rq('PUT', `${P}/os-quota-sets/${ts.adminProjectId}`, { ...at(mv), body: { quota_set: { volumes: 20 } } });
        await rq('GET', `${P}/extensions/os-hosts`, at(mv));
        await rq('GET', `${P}/scheduler-stats/get_pools`, at(mv));
        await rq('GET', `${P}/scheduler-stats/get_pools?detail=true`, at(mv));
        const dt = await rq('POST', `${P}/types`, { ...at(mv), body: { volume_type: { name: 'contract-default' } } });
        await rq('PUT', `${P}/default-types/${ts.adminProjectId}`, { ...at(mv), body: { default_type: { volume_type: dt.body.volume_type.id } } });
        await rq('GET', `${P}/default-types`, at(mv));
        await rq('GET', `${P}/default-types/${ts.adminProjectId}`, at(mv));
        await rq('DELETE', `${P}/default-types/${ts.adminProjectId}`, at(mv));
        // The legacy v2 form of the same operations.
        await rq('GET', `/v2/${ts.adminProjectId}/volumes/detail`, { token });
        await rq('GET', `/v2/${ts.adminProjectId}/snapshots/detail`, { token });
        await rq('PUT', `${P}/qos-specs/nope`, { ...at(mv), body: { qos_specs: { 'bad key!': 'x' } } });
      }

      await rq('DELETE', `${P}/backups/${backupId}`, at(mv));
      await waitFor(async () => (await rq('GET', `${P}/backups/${backupId}`, at(mv))).status === 404, 'backup deleted');
      await rq('DELETE', `${P}/snapshots/${snapshotId}`, at(mv));
      await waitFor(async () => (await rq('GET', `${P}/snapshots/${snapshotId}`, at(mv))).status === 404, 'snapshot deleted');
      await rq('DELETE', `${P}/volumes/${volumeId}`, at(mv));
    }
  });
  after(async () => {
    await ts?.close();
  });

  it('every recorded exchange matches the contract at its microversion', () => {
    const index = new ContractIndex([...SERVED_OPERATIONS['block-storage'], ...SERVED_OPERATIONS.identity]);
    const problems = exchanges.flatMap((x) => checkExchange(index, x).problems);
    assert.deepEqual(problems, []);
  });

  it('the sample covers the main operations at each microversion', () => {
    const index = new ContractIndex([...SERVED_OPERATIONS['block-storage'], ...SERVED_OPERATIONS.identity]);
    const reached = new Set(exchanges.filter((x) => x.status < 400).map((x) => `${checkExchange(index, x).operationId} @${x.mv ?? '-'}`));
    for (const mv of VERSIONS) {
      for (const id of ['volumeCreate', 'volumeShow', 'volumeListDetail', 'volumeAction', 'snapshotCreate', 'snapshotListDetail', 'backupCreate', 'backupShow', 'limitsShow', 'quotaSetShow']) {
        assert.ok(reached.has(`${id} @${mv}`), `${id} answered at ${mv}`);
      }
    }
    const admin = [
      'groupSpecsList', 'groupSpecsCreate', 'groupSpecShow', 'groupSpecUpdate', 'encryptionShow', 'encryptionKeyShow', 'encryptionCreate',
      'encryptionUpdate', 'serviceUpdate', 'hostList', 'hostShow', 'capabilitiesShow', 'volumeManageableList', 'volumeManageableListDetail',
      'snapshotManageableListDetail', 'volumeManageableListDetailLegacy', 'backupProgress', 'repoVerify', 'repoGc',
    ];
    for (const id of admin) assert.ok(reached.has(`${id} @${BLOCK_STORAGE_MAX_MICROVERSION}`), `${id} answered`);
    for (const id of ['tokenIssue', 'tokenValidate', 'projectCreate', 'userCreate', 'roleList', 'roleAssignmentList']) assert.ok(reached.has(`${id} @-`), id);
    assert.ok(exchanges.length > 150, `${exchanges.length} exchanges recorded`);
  });
});

describe('the contract check', () => {
  const index = new ContractIndex(SERVED_OPERATIONS['block-storage']);
  const volume = (extra: Record<string, unknown> = {}) => ({
    volume: {
      id: 'v', status: 'available', size: 1, availability_zone: 'nova', created_at: 't', updated_at: null, name: null, description: null,
      volume_type: null, snapshot_id: null, source_volid: null, metadata: {}, links: [], user_id: 'u', bootable: 'false', encrypted: false,
      replication_status: null, consistencygroup_id: null, multiattach: false, attachments: [], ...extra,
    },
  });
  const show = (mv: string, body: unknown, status = 200): Exchange => ({ method: 'GET', path: '/v3/p/volumes/v', mv, status, responseBody: body });

  it('passes a conforming exchange and names the operation', () => {
    assert.deepEqual(checkExchange(index, show('3.0', volume())), { operationId: 'volumeShow', problems: [] });
  });

  it('finds a missing field, a field shown before its microversion, an unlisted status and an unknown route', () => {
    const { volume: v } = volume();
    const { id: _id, ...noId } = v;
    assert.match(checkExchange(index, show('3.0', { volume: noId })).problems.join(), /must have required property 'id'/);
    assert.match(checkExchange(index, show('3.0', volume({ consumes_quota: true }))).problems.join(), /consumes_quota.*outside its microversion range/);
    assert.deepEqual(checkExchange(index, show('3.65', volume({ consumes_quota: true }))).problems, []);
    assert.match(checkExchange(index, show('3.0', volume(), 201)).problems.join(), /status 201 is not among/);
    assert.match(checkExchange(index, { method: 'GET', path: '/v3/p/nothing', status: 200, responseBody: {} }).problems.join(), /no operation/);
  });

  it('checks a request body against the variant of its microversion, and error bodies against the fault shape', () => {
    const create = (mv: string, body: unknown): Exchange => ({ method: 'POST', path: '/v3/p/backups', mv, requestBody: body, status: 202, responseBody: { backup: { id: 'b', name: null, links: [] } } });
    const withMetadata = { backup: { volume_id: '8c2f1b0e-3a4d-4e5f-9a6b-7c8d9e0f1a2b', metadata: { a: 'b' } } };
    assert.match(checkExchange(index, create('3.42', withMetadata)).problems.join(), /request body/);
    assert.deepEqual(checkExchange(index, create('3.43', withMetadata)).problems, []);
    assert.deepEqual(checkExchange(index, show('3.0', { itemNotFound: { code: 404, message: 'gone' } }, 404)).problems, []);
    assert.match(checkExchange(index, show('3.0', { error: 'gone' }, 404)).problems.join(), /error body/);
  });
});
