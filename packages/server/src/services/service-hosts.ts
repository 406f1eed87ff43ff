/**
 * Cinder's service host names (`node`, `node@backend`, `node@backend#pool`): how they match a filter, which node
 * and service a volume's host names, and which nodes' local backends a set of volumes lives on.
 */
import type { BackendConfig } from '../config/config.js';

/**
 * Cinder's host filter (`db.sqlalchemy.api._filter_host`): `h` matches `h`, `h@…` and `h#…`;
 * `h@b` matches `h@b` and `h@b#…`; a value with `#` matches only itself.
 */
export function hostMatches(host: string, wanted: string): boolean {
  if (host === wanted) return true;
  if (wanted.includes('#')) return false;
  if (host.startsWith(`${wanted}#`)) return true;
  return !wanted.includes('@') && host.startsWith(`${wanted}@`);
}

/** `node@backend#pool` → `node@backend`, the volume service's host. */
export function serviceHostOf(volumeHost: string): string {
  const i = volumeHost.indexOf('#');
  return i < 0 ? volumeHost : volumeHost.slice(0, i);
}

/** `node@backend#pool` (or `node@backend`, `node`) → `node`. */
export function nodeOfVolumeHost(host: string): string {
  return host.split(/[@#]/)[0]!;
}

/** Whether every node reaches a backend's data (RBD: one Ceph pool); raw and qcow2 are files of one node. */
export function isSharedBackend(backends: readonly Pick<BackendConfig, 'name' | 'driver'>[], name: string): boolean {
  return backends.find((b) => b.name === name)?.driver === 'rbd';
}

/**
 * The nodes whose local backends hold some of `volumes` (sorted, distinct). Work that must see all of them at one
 * point in time (a group snapshot, a CBR checkpoint of several disks) runs on one node, which reads only its own
 * local files: it cannot span two of these nodes. Volumes on a shared backend belong to no node (writes to them
 * through other nodes are held by the cluster's write barrier, services/cluster-barrier.ts).
 */
export function nodesOfLocalVolumes(
  volumes: readonly { host: string | null; driver: string }[],
  backends: readonly Pick<BackendConfig, 'name' | 'driver'>[],
): string[] {
  const nodes = new Set<string>();
  for (const v of volumes) if (v.host && !isSharedBackend(backends, v.driver)) nodes.add(nodeOfVolumeHost(v.host));
  return [...nodes].sort();
}
