import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, notFound } from '../../domain/errors.js';
import { ensureAllowed, refusal } from '../../domain/lifecycle.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type { Transfer } from '../../domain/transfer.js';
import { volumeLifecycle } from '../../domain/volume.js';
import { callerProject, canSee } from './access.js';
import { type Core, UUID_RE } from './core.js';

/** Cinder's `volume_transfer_salt_length` and `volume_transfer_key_length` defaults. */
const SALT_LENGTH = 8;
const KEY_LENGTH = 16;

/** Hex only: the receiving user types the key in. */
function randomHex(length: number): string {
  return randomBytes(Math.ceil(length / 2)).toString('hex').slice(0, length);
}

function cryptHash(salt: string, authKey: string): string {
  return createHmac('sha1', salt).update(authKey).digest('hex');
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface TransferCreateInput {
  volumeId: string;
  name: string | null;
  /** 3.55: leave the snapshots with the donor. Before 3.55 snapshots always move. */
  noSnapshots: boolean;
}

const transferNotFound = (id: string) => notFound(`Transfer ${id} could not be found.`);

/**
 * Volume transfers (cinder/transfer/api.py): a project offers an available volume (it waits in
 * `awaiting-transfer`), another project accepts with the auth key and takes the volume over — its snapshots
 * too unless the offer said `no_snapshots` — with the quota usage moved from the donor to the recipient in the
 * same transaction. The bytes do not move: ownership is a column.
 */
export class TransferService {
  constructor(private readonly core: Core) {}

  async create(ctx: AuthContext, input: TransferCreateInput): Promise<{ transfer: Transfer; authKey: string }> {
    const core = this.core;
    callerProject(ctx);
    // Drawn outside the transaction: a retried transaction must not hand out a key other than the one stored.
    const salt = randomHex(SALT_LENGTH);
    const authKey = randomHex(KEY_LENGTH);
    const id = randomUUID();
    const transfer = await core.inTx(async (tx) => {
      const v = await core.visibleVolume(ctx, input.volumeId, tx);
      ensureAllowed(volumeLifecycle, 'createTransfer', v);
      if (!input.noSnapshots) {
        for (const s of await core.repos.snapshots.ofVolume(tx, v.id)) {
          if (s.hidden) continue;
          if (s.status !== 'available') throw badRequest(`Invalid snapshot: Snapshot ${s.id} is not in available state.`);
        }
      }
      const moved = await core.moveVolume(tx, v.id, 'createTransfer', { previous_status: v.status });
      if (!moved.ok) {
        if (moved.reason === 'gone') throw notFound(`Volume ${v.id} could not be found.`);
        throw refusal(volumeLifecycle, 'createTransfer', { id: v.id, status: moved.status });
      }
      const now = core.now();
      const t: Transfer = {
        id,
        volume_id: v.id,
        display_name: input.name,
        salt,
        crypt_hash: cryptHash(salt, authKey),
        no_snapshots: input.noSnapshots,
        source_project_id: v.project_id,
        destination_project_id: null,
        accepted: false,
        created_at: now,
        updated_at: null,
      };
      await core.repos.transfers.insert(tx, t);
      return t;
    });
    return { transfer, authKey };
  }

  /** An open transfer the caller may see: its volume's project, or an admin. */
  private async visible(ctx: AuthContext, id: string, scope: Scope): Promise<Transfer> {
    const t = UUID_RE.test(id) ? await this.core.repos.transfers.get(scope, id.toLowerCase()) : undefined;
    if (!t || !canSee(ctx, t.source_project_id)) throw transferNotFound(id);
    if (!(await this.core.repos.volumes.get(scope, t.volume_id))) throw transferNotFound(id);
    return t;
  }

  get(ctx: AuthContext, id: string): Promise<Transfer> {
    return this.visible(ctx, id, this.core.store.root);
  }

  /** The caller's project's open transfers; every project's for an admin asking with `all_tenants`. */
  list(ctx: AuthContext, allTenants: boolean): Promise<Transfer[]> {
    const projectId = ctx.isAdmin && allTenants ? null : callerProject(ctx);
    return this.core.repos.transfers.list(this.core.store.root, projectId);
  }

  /** Withdraws the offer: the volume is available to its owner again. */
  async delete(ctx: AuthContext, id: string): Promise<void> {
    const core = this.core;
    await core.inTx(async (tx) => {
      const t = await this.visible(ctx, id, tx);
      if (!(await core.repos.transfers.close(tx, t.id, core.now(), null))) throw transferNotFound(id);
      // Cinder only logs a volume found in another status (an admin reset it meanwhile); so does this.
      const moved = await core.moveVolume(tx, t.volume_id, 'cancelTransfer');
      if (!moved.ok) core.deps.logger.warn({ transfer: t.id, volume: t.volume_id }, 'transfer withdrawn from a volume not awaiting it');
    });
  }

  /**
   * Any project holding the auth key takes the volume: the transfer is looked up whoever offers it (the key is
   * the credential). Quotas are reserved in the recipient first, so an over-quota recipient gets 413 and nothing
   * changes; the donor's usage is released in the same transaction.
   */
  async accept(ctx: AuthContext, id: string, authKey: string): Promise<Transfer> {
    const core = this.core;
    const recipient = callerProject(ctx);
    return core.inTx(async (tx) => {
      const t = UUID_RE.test(id) ? await core.repos.transfers.get(tx, id.toLowerCase()) : undefined;
      if (!t) throw transferNotFound(id);
      if (!sameHash(cryptHash(t.salt, authKey), t.crypt_hash)) {
        throw badRequest(`Invalid auth key: Attempt to transfer ${id} with invalid auth key.`);
      }
      const v = await core.volumeRow(tx, t.volume_id);
      if (!v) throw transferNotFound(id);
      ensureAllowed(volumeLifecycle, 'acceptTransfer', v);
      const typeName = await core.volumeTypeName(tx, v.volume_type_id);
      const deltas: Record<string, number> = {};
      const add = (d: Record<string, number>) => {
        for (const [k, n] of Object.entries(d)) deltas[k] = (deltas[k] ?? 0) + n;
      };
      if (v.use_quota) add(core.volumeQuota(v.size, typeName));
      const snaps = t.no_snapshots ? [] : (await core.repos.snapshots.ofVolume(tx, v.id)).filter((s) => !s.hidden);
      for (const s of snaps) if (s.use_quota) add(core.snapshotQuota(s.size, typeName));
      const donor = v.project_id;
      if (donor !== recipient) {
        await core.reserveQuota(tx, recipient, deltas);
        await core.releaseQuota(tx, donor, deltas);
      }
      const moved = await core.moveVolume(tx, v.id, 'acceptTransfer', { project_id: recipient, user_id: ctx.userId });
      if (!moved.ok) {
        if (moved.reason === 'gone') throw transferNotFound(id);
        throw refusal(volumeLifecycle, 'acceptTransfer', { id: v.id, status: moved.status });
      }
      for (const s of snaps) {
        await core.repos.snapshots.update(tx, s.id, { project_id: recipient, user_id: ctx.userId, updated_at: core.now() });
      }
      if (!(await core.repos.transfers.close(tx, t.id, core.now(), { destinationProjectId: recipient }))) throw transferNotFound(id);
      return { ...t, accepted: true, destination_project_id: recipient };
    });
  }
}
