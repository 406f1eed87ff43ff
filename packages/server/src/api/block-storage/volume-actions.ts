import type { FastifyInstance } from 'fastify';
import { badRequest } from '../../domain/errors.js';
import { parseBoolean, validateBody } from '../common/validation.js';
import { authOf, mvOf, parseAction, pathId } from './common.js';
import type { BlockStorageDeps } from './index.js';
import {
  attachAction,
  bootableAction,
  connectorAction,
  detachAction,
  forceDetachAction,
  extendAction,
  readonlyAction,
  resetVolumeStatusAction,
  revertAction,
  terminateAction,
} from '@cinderbox/api-schema';
import { sizeOf } from './volumes.js';
import { migrateVolumeAction, migrateVolumeActionV316, retypeAction } from '@cinderbox/api-schema';
import { hostOrCluster } from '../../services/block-storage/manage-service.js';
import type { MigrationPolicy } from '../../services/block-storage/index.js';

const ACTIONS = [
  'os-extend',
  'os-reset_status',
  'os-force_delete',
  'os-set_bootable',
  'os-update_readonly_flag',
  'os-initialize_connection',
  'os-terminate_connection',
  'os-reserve',
  'os-unreserve',
  'os-attach',
  'os-detach',
  'os-force_detach',
  'os-begin_detaching',
  'os-roll_detaching',
  'revert',
  'os-unmanage',
  'os-retype',
  'os-migrate_volume',
] as const;

type Body = Record<string, unknown>;

/** `POST /volumes/{id}/action`: the id is checked first (404), then the one-key body, then the action's schema. */
export function registerVolumeActionRoutes(scope: FastifyInstance, deps: BlockStorageDeps): void {
  const { volumes, volumeActions: actions } = deps;
  scope.post('/volumes/:id/action', async (req, reply) => {
    const id = pathId(req, 'Volume');
    const ctx = authOf(req);
    const mv = mvOf(req);
    await volumes.get(ctx, id);
    const known = ACTIONS.filter((a) => a !== 'revert' || (req.cb.apiVersion !== null && mv.atLeast('3.40')));
    const { name, value } = parseAction(req.body, known);
    switch (name) {
      case 'os-extend': {
        const b = validateBody<Body>(extendAction, value);
        await actions.extend(ctx, mv, id, sizeOf(b.new_size, 'new_size')!);
        return reply.code(202).send();
      }
      case 'os-reset_status': {
        const b = validateBody<Body>(resetVolumeStatusAction, value);
        const input: { status?: string; attachStatus?: string; migrationStatus?: string | null } = {};
        if (typeof b.status === 'string') input.status = b.status;
        if (typeof b.attach_status === 'string') input.attachStatus = b.attach_status;
        if (b.migration_status !== undefined) input.migrationStatus = b.migration_status as string | null;
        await actions.resetStatus(ctx, id, input);
        return reply.code(202).send();
      }
      case 'os-force_delete':
        await actions.forceDelete(ctx, id);
        return reply.code(202).send();
      case 'os-set_bootable': {
        const b = validateBody<Body>(bootableAction, value);
        await actions.setBootable(ctx, id, parseBoolean(b.bootable, 'bootable'));
        return reply.code(200).send();
      }
      case 'os-update_readonly_flag': {
        const b = validateBody<Body>(readonlyAction, value);
        await actions.updateReadonly(ctx, id, parseBoolean(b.readonly, 'readonly'));
        return reply.code(202).send();
      }
      case 'os-initialize_connection': {
        validateBody<Body>(connectorAction, value);
        return reply.code(200).send({ connection_info: await actions.initializeConnection(ctx, id) });
      }
      case 'os-terminate_connection':
        validateBody<Body>(terminateAction, value);
        await actions.terminateConnection(ctx, id);
        return reply.code(202).send();
      case 'os-reserve':
        await actions.reserve(ctx, id);
        return reply.code(202).send();
      case 'os-unreserve':
        await actions.unreserve(ctx, id);
        return reply.code(202).send();
      case 'os-begin_detaching':
        await actions.beginDetaching(ctx, id);
        return reply.code(202).send();
      case 'os-roll_detaching':
        await actions.rollDetaching(ctx, id);
        return reply.code(202).send();
      case 'os-attach': {
        const b = validateBody<Body>(attachAction, value);
        const instanceUuid = typeof b.instance_uuid === 'string' ? b.instance_uuid.toLowerCase() : null;
        const hostName = typeof b.host_name === 'string' ? b.host_name : null;
        if (instanceUuid !== null && hostName !== null) {
          throw badRequest(
            `Invalid request to attach volume to an instance ${instanceUuid} and a host ${hostName} simultaneously`,
          );
        }
        if (instanceUuid === null && hostName === null)
          throw badRequest('Invalid request to attach volume to an invalid target');
        await actions.attach(ctx, id, {
          mountpoint: b.mountpoint as string,
          instanceUuid,
          hostName,
          mode: (b.mode as 'rw' | 'ro' | undefined) ?? 'rw',
        });
        return reply.code(202).send();
      }
      case 'os-detach': {
        const b = validateBody<Body | null>(detachAction, value ?? null);
        const attachmentId = b && typeof b.attachment_id === 'string' ? b.attachment_id.toLowerCase() : null;
        await actions.detach(ctx, id, attachmentId);
        return reply.code(202).send();
      }
      case 'os-force_detach': {
        const b = validateBody<Body | null>(forceDetachAction, value ?? null);
        const attachmentId = b && typeof b.attachment_id === 'string' ? b.attachment_id.toLowerCase() : null;
        await actions.forceDetach(ctx, id, attachmentId);
        return reply.code(202).send();
      }
      case 'revert': {
        const b = validateBody<Body>(revertAction, value);
        if (typeof b.snapshot_id !== 'string') throw badRequest('Invalid input received: snapshot_id is required.');
        await actions.revert(ctx, id, b.snapshot_id.toLowerCase());
        return reply.code(202).send();
      }
      case 'os-unmanage':
        await deps.manage.unmanageVolume(ctx, id);
        return reply.code(202).send();
      case 'os-retype': {
        const b = validateBody<Body>(retypeAction, value);
        await deps.retype.retype(ctx, id, b.new_type as string, (b.migration_policy as MigrationPolicy | undefined) ?? 'never');
        return reply.code(202).send();
      }
      case 'os-migrate_volume': {
        const v316 = req.cb.apiVersion !== null && mv.atLeast('3.16');
        const b = validateBody<Body>(v316 ? migrateVolumeActionV316 : migrateVolumeAction, value);
        if (b.force_host_copy !== undefined) parseBoolean(b.force_host_copy, 'force_host_copy');
        if (b.lock_volume !== undefined) parseBoolean(b.lock_volume, 'lock_volume');
        const str = (x: unknown) => (typeof x === 'string' ? x : null);
        await deps.retype.migrate(ctx, id, hostOrCluster(str(b.host), str(b.cluster), v316));
        return reply.code(202).send();
      }
      default:
        throw badRequest(`There is no such action: ${name}`);
    }
  });
}
