/**
 * The SDK's field maps follow the contract: the compile-time half (`ContractFields`, checked by the tests'
 * typecheck through the `@ts-expect-error` lines below) and a run-time cross-check of the main resources' wire
 * names against the contract's schemas, so dropping a `satisfies` cannot silently let the two drift apart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as contract from '@cinderbox/api-schema';
import { cbrContract as C, type VolumeBody } from '@cinderbox/api-schema';
import type { TSchema } from 'typebox';
import { Attachment } from '../block-storage/resources/attachment.js';
import { Backup } from '../block-storage/resources/backup.js';
import { Group, GroupSnapshot, GroupType } from '../block-storage/resources/group.js';
import { Message } from '../block-storage/resources/message.js';
import { QoSSpec } from '../block-storage/resources/qos-spec.js';
import { Snapshot, SnapshotDetail } from '../block-storage/resources/snapshot.js';
import { Transfer } from '../block-storage/resources/transfer.js';
import { VolumeType } from '../block-storage/resources/volume-type.js';
import { Volume } from '../block-storage/resources/volume.js';
import { Checkpoint, Policy, Vault } from '../cbr/resources.js';
import { Project, User } from '../identity/resources.js';
import type { ContractFields, FieldMap } from './field.js';

describe('SDK field maps against the contract', () => {
  it('a wire name or a value type the contract does not have fails to compile', () => {
    const ok = { size: { wire: 'size', type: 'integer' } } as const satisfies ContractFields<VolumeBody>;
    // @ts-expect-error the contract's volume has no `size_gb`
    const renamed = { size: { wire: 'size_gb', type: 'integer' } } as const satisfies ContractFields<VolumeBody>;
    // @ts-expect-error the contract's volume size is a number, not a string
    const retyped = { size: { wire: 'size', type: 'string' } } as const satisfies ContractFields<VolumeBody>;
    const requestOnly = { backupId: { wire: 'backup_id', type: 'string' } } as const satisfies ContractFields<VolumeBody, 'backup_id'>;
    assert.deepEqual([ok.size.wire, renamed.size.wire, retyped.size.wire, requestOnly.backupId.wire], ['size', 'size_gb', 'size', 'backup_id']);
  });

  it('every wire name of the main resources is a property of its contract schema, or a request-only name', () => {
    const cases: [string, { fields: FieldMap }, TSchema, string[]][] = [
      ['Volume', Volume, contract.Volume, ['backup_id']],
      ['Snapshot', Snapshot, contract.Snapshot, ['force']],
      ['SnapshotDetail', SnapshotDetail, contract.Snapshot, ['force']],
      ['Backup', Backup, contract.Backup, ['force']],
      ['VolumeType', VolumeType, contract.VolumeType, []],
      ['QoSSpec', QoSSpec, contract.QosSpecs, []],
      ['GroupType', GroupType, contract.GroupType, []],
      ['Group', Group, contract.Group, []],
      ['GroupSnapshot', GroupSnapshot, contract.GroupSnapshot, []],
      ['Attachment', Attachment, contract.Attachment, ['name', 'mode', 'connector']],
      ['Transfer', Transfer, contract.Transfer, []],
      ['Message', Message, contract.Message, ['name']],
      ['Vault', Vault, C.Vault, []],
      ['Policy', Policy, C.Policy, []],
      ['Checkpoint', Checkpoint, C.Checkpoint, ['name', 'parameters', 'vault_id']],
      ['Project', Project, contract.Project, []],
      ['User', User, contract.User, ['password']],
    ];
    for (const [name, cls, schema, requestOnly] of cases) {
      const known = new Set([...Object.keys((schema as { properties: object }).properties), ...requestOnly]);
      const unknown = Object.values(cls.fields)
        .map((d) => d.wire)
        .filter((w) => !known.has(w));
      assert.deepEqual(unknown, [], `${name}: wire names the contract lacks`);
    }
  });
});
