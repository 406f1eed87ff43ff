/**
 * Volume transfers (`os-volume-transfer`, and `volume-transfers` from 3.55).
 * @packageDocumentation
 */
import type { Transfer as TransferSchema } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import { type BaseAttributes, type OperationOptions, Resource } from '../../resource/resource.js';
import { BASE_FIELDS, type ContractFields } from '../../resource/field.js';

/** Transfer attributes. */
export interface TransferAttributes extends BaseAttributes {
  /** The volume offered (required on create). */
  volumeId?: string;
  /** The key the accepting project presents; only in the create response. */
  authKey?: string;
  createdAt?: string;
  /** 3.55+: the volume's snapshots stay with the donor (create through `volume-transfers`). */
  noSnapshots?: boolean;
  /** 3.57+. */
  sourceProjectId?: string;
  /** 3.57+: set once accepted. */
  destinationProjectId?: string | null;
  /** 3.57+. */
  accepted?: boolean;
}

export interface Transfer extends TransferAttributes {}

/**
 * An offer to hand a volume (and, unless `noSnapshots`, its snapshots) to another project, which accepts it
 * with the auth key the create response alone carries.
 *
 * @example
 * ```ts
 * const offer = await alice.blockStorage.createTransfer({ volumeId: vol.id, name: 'to bob' });
 * await bob.blockStorage.acceptTransfer(offer.id, offer.authKey!);
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class Transfer extends Resource<TransferAttributes> {
  static override readonly displayName: string = 'Transfer';
  static override readonly resourceKey: string | undefined = 'transfer';
  static override readonly resourcesKey: string | undefined = 'transfers';
  static override readonly basePath: string = '/os-volume-transfer';
  static override readonly maxMicroversion: string | undefined = '3.57';
  static override readonly allow = { create: true, fetch: true, commit: false, delete: true, list: true };
  static override readonly queryParameters = { limit: 'limit', offset: 'offset', allProjects: 'all_tenants' };
  static override readonly fields = {
    ...BASE_FIELDS,
    volumeId: { wire: 'volume_id', type: 'string' },
    authKey: { wire: 'auth_key', type: 'string', readOnly: true },
    createdAt: { wire: 'created_at', type: 'string', readOnly: true },
    noSnapshots: { wire: 'no_snapshots', type: 'boolean', minMicroversion: '3.55' },
    sourceProjectId: { wire: 'source_project_id', type: 'string', readOnly: true },
    destinationProjectId: { wire: 'destination_project_id', type: 'string', readOnly: true },
    accepted: { wire: 'accepted', type: 'boolean', readOnly: true },
  } as const satisfies ContractFields<Static<typeof TransferSchema>>;

  /**
   * Accepts the transfer into the caller's project (`POST …/accept`); merges the summary the server answers.
   *
   * @example
   * ```ts
   * await Transfer.existing({ id }, client).accept(authKey);
   * ```
   */
  async accept(authKey: string, options: OperationOptions = {}): Promise<this> {
    const res = await this.send('POST', `${this.itemPath(options)}/accept`, {
      ...options,
      body: { accept: { auth_key: authKey } },
      operation: 'accept Transfer',
    });
    return this.applyResponse(res);
  }
}
