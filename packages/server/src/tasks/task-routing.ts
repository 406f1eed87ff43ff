import type { Scope } from '../domain/ports/metadata-store.js';
import type { NewTask } from '../domain/ports/task-queue.js';
import type { TaskRoutingLookup } from '../domain/ports/task-store.js';

/** Picks the node a new task must run on, or null for any node. */
export type TaskRouter = (scope: Scope, task: NewTask<unknown>) => Promise<string | null>;

/** The backup target whose repository lives in one node's data directory (not shared by the cluster). */
const NODE_LOCAL_TARGET = 'default';

/** `node@backend#pool` (or `node@backend`, `node`) → `node`. */
export function nodeOfHost(host: string): string {
  const at = host.indexOf('@');
  const hash = host.indexOf('#');
  const end = at >= 0 ? at : hash >= 0 ? hash : host.length;
  return host.slice(0, end);
}

/** Volume ids a payload names (`volumeId`, group and checkpoint members). */
function payloadVolumeIds(payload: unknown): string[] {
  if (typeof payload !== 'object' || payload === null) return [];
  const p = payload as Record<string, unknown>;
  const ids: string[] = [];
  if (typeof p.volumeId === 'string') ids.push(p.volumeId);
  for (const key of ['members', 'backups']) {
    const list = p[key];
    if (Array.isArray(list)) for (const m of list) if (m && typeof (m as { volumeId?: unknown }).volumeId === 'string') ids.push((m as { volumeId: string }).volumeId);
  }
  return ids;
}

/**
 * Task routing over a cluster (issue #17). A task whose work touches a volume on a node-local backend (raw,
 * qcow2: files in that node's data directory) is bound to the node named in the volume's host; volumes on a
 * shared backend (RBD) and work on a shared backup target alone are left to any node. A backup in the data
 * directory's repository (target `default`) lives on the node recorded as its host, so its tasks go there.
 * `sharedBackends` names the backends whose data every node reaches.
 */
export function taskRouter(lookup: TaskRoutingLookup, sharedBackends: ReadonlySet<string>): TaskRouter {
  const localNodeOf = async (scope: Scope, volumeId: string | null): Promise<string | null> => {
    if (volumeId === null) return null;
    const v = await lookup.volume(scope, volumeId);
    if (!v || !v.host || sharedBackends.has(v.driver)) return null;
    return nodeOfHost(v.host);
  };
  const firstLocal = async (scope: Scope, ids: string[]): Promise<string | null> => {
    for (const id of ids) {
      const n = await localNodeOf(scope, id);
      if (n) return n;
    }
    return null;
  };
  return async (scope, task) => {
    const named = payloadVolumeIds(task.payload);
    switch (task.resourceType) {
      case 'volume': {
        // A move to another node's local backend runs there (its source is on a shared backend: reachable anywhere).
        const p = task.payload as { targetNode?: unknown; target?: unknown } | null;
        if (p && typeof p.targetNode === 'string' && typeof p.target === 'string' && !sharedBackends.has(p.target)) return p.targetNode;
        return localNodeOf(scope, task.resourceId);
      }
      case 'snapshot':
        return firstLocal(scope, named.length ? named : [await lookup.snapshotVolumeId(scope, task.resourceId)].filter((x): x is string => !!x));
      case 'backup': {
        const b = await lookup.backup(scope, task.resourceId);
        // A delete reads the repository only; a create or restore reads or writes the volume too.
        if (task.kind !== 'backup.delete') {
          const n = await firstLocal(scope, named.length ? named : b ? [b.volumeId] : []);
          if (n) return n;
        }
        return b && b.target === NODE_LOCAL_TARGET && b.host ? nodeOfHost(b.host) : null;
      }
      default:
        // Group snapshots, CBR backups, freezes and restores name their volumes in the payload; CBR deletes,
        // replications and vault deletes touch backup targets only.
        return firstLocal(scope, named);
    }
  };
}
