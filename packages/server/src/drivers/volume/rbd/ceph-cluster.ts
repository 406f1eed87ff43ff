/**
 * What the RBD driver asks the Ceph cluster rather than the pool: the monitor addresses consumers connect to
 * (reported in connection info) and the pool's capacity (get_pools). Both go through the `ceph` tool when librbd
 * is not there, and both answer "unknown" rather than fail: a consumer can fall back on its own ceph.conf, and a
 * scheduler treats an unknown capacity as such.
 */
import { execFile } from 'node:child_process';
import { connectionArgs, type RbdConnection } from './rbd-cli.js';

/** Runs `ceph <args> --format json`; empty output when the tool fails or the cluster does not answer. */
function cephJson(conn: RbdConnection, args: string[]): Promise<string> {
  return new Promise<string>((resolve) => {
    execFile('ceph', [...connectionArgs(conn), ...args, '--format', 'json', '--connect-timeout', '10'], { timeout: 15_000 }, (err, stdout) => resolve(err ? '' : stdout));
  });
}

/** The monitor addresses (Cinder's _get_mon_addrs: `ceph mon dump`); none when ceph is not reachable. */
export async function readMonitors(conn: RbdConnection): Promise<{ hosts: string[]; ports: string[] }> {
  const monitors: { hosts: string[]; ports: string[] } = { hosts: [], ports: [] };
  const out = await cephJson(conn, ['mon', 'dump']);
  if (!out) return monitors;
  try {
    const dump = JSON.parse(out.slice(out.indexOf('{'))) as { mons?: { addr?: string }[] };
    for (const m of dump.mons ?? []) {
      const addr = (m.addr ?? '').split('/')[0] ?? '';
      const i = addr.lastIndexOf(':');
      if (i <= 0) continue;
      monitors.hosts.push(addr.slice(0, i).replace(/^\[|\]$/g, ''));
      monitors.ports.push(addr.slice(i + 1));
    }
  } catch {
    // An unreadable dump leaves the lists empty; consumers then use their own ceph.conf.
  }
  return monitors;
}

/** `ceph df --format json` through the tool (the librbd path asks its own connection's monitor command). */
export function cephDf(conn: RbdConnection): Promise<string> {
  return cephJson(conn, ['df']);
}

/**
 * A pool's capacity from `ceph df --format json` (Cinder's _get_usage_info reads the same): stored plus
 * max_avail as the total. Null when the pool is missing or the cluster reports no usage at all (no ceph-mgr
 * aggregates the OSDs' statistics: every figure is 0), which is "unknown", not "full".
 */
export function poolCapacity(dfJson: string, pool: string): { total: number; free: number } | null {
  try {
    const df = JSON.parse(dfJson) as {
      stats?: { total_bytes?: number };
      pools?: { name: string; stats: { max_avail: number; bytes_used?: number; stored?: number } }[];
    };
    const p = df.pools?.find((x) => x.name === pool);
    if (!p || !(Number(df.stats?.total_bytes) > 0)) return null;
    const used = p.stats.stored ?? p.stats.bytes_used ?? 0;
    return { total: used + p.stats.max_avail, free: p.stats.max_avail };
  } catch {
    return null;
  }
}
