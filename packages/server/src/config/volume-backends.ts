/**
 * Which volume driver each backend uses. `qcow2` (O(1) snapshots on any filesystem, changed-block tracking) is the
 * default when qemu-img and qemu-io can be run; otherwise `raw`. Operators choose with CINDERBOX_VOLUME_DRIVER
 * (qcow2 | raw | auto) or list backends with CINDERBOX_VOLUME_BACKENDS="name:driver[,name:driver…]" (the first one
 * receives new volumes). A backend is named after its driver by default, so a volume, which records its backend,
 * keeps the driver it was created with. An RBD backend names its Ceph pool and how to reach the cluster:
 * `name:rbd:<pool>[?conf=<ceph.conf>&id=<client id>&keyring=<path>&secret_uuid=<libvirt secret>&chunk_size=<MiB>]`.
 */
import { execFileSync } from 'node:child_process';

export type VolumeDriverKind = 'raw' | 'qcow2' | 'rbd';
/** Drivers that keep their files under the data directory (a backend may be named after one of them alone). */
export const VOLUME_DRIVER_KINDS: readonly VolumeDriverKind[] = ['raw', 'qcow2'];

/** Where an `rbd` backend's images live and how the `rbd` tool reaches the cluster. */
export interface RbdBackendConfig {
  pool: string;
  conf?: string;
  id?: string;
  keyring?: string;
  secretUuid?: string;
  /** Object size of new images in bytes (from Cinder's rbd_store_chunk_size, given in MiB). */
  objectSize?: number;
}

export interface BackendChoice {
  backends: { name: string; driver: VolumeDriverKind; pool: string; rbd?: RbdBackendConfig }[];
  /** One line for the startup log: which driver new volumes get and why. */
  reason: string;
}

let probed: { available: boolean; detail: string } | undefined;

/** Whether qemu-img and qemu-io run (cached for the process). */
export function qemuAvailability(): { available: boolean; detail: string } {
  probed ??= (() => {
    for (const tool of ['qemu-img', 'qemu-io']) {
      try {
        execFileSync(tool, ['--version'], { stdio: 'ignore', timeout: 10_000 });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        return { available: false, detail: code === 'ENOENT' ? `${tool} is not on PATH (Debian/Ubuntu: apt-get install qemu-utils)` : `${tool} --version failed` };
      }
    }
    return { available: true, detail: 'qemu-img and qemu-io found' };
  })();
  return probed;
}

function isKind(v: string): v is VolumeDriverKind {
  return (VOLUME_DRIVER_KINDS as readonly string[]).includes(v);
}

const RBD_KEYS: Record<string, Exclude<keyof RbdBackendConfig, 'objectSize'>> = { conf: 'conf', id: 'id', keyring: 'keyring', secret_uuid: 'secretUuid' };

/** `<pool>[?conf=…&id=…&keyring=…&secret_uuid=…]` of an rbd backend. */
export function parseRbdSpec(spec: string): RbdBackendConfig {
  const q = spec.indexOf('?');
  const pool = q < 0 ? spec : spec.slice(0, q);
  // Ceph pool names: no separators or spaces, so they fit `host@backend#pool` and `pool/image` specs.
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(pool)) throw new Error(`rbd backend: invalid pool name ${JSON.stringify(pool)}`);
  const out: RbdBackendConfig = { pool };
  for (const [k, v] of new URLSearchParams(q < 0 ? '' : spec.slice(q + 1))) {
    if (k === 'chunk_size') {
      // Ceph wants a power of two between 4 KiB and 32 MiB.
      const mib = Number(v);
      if (![1, 2, 4, 8, 16, 32].includes(mib)) throw new Error(`rbd backend: chunk_size must be 1, 2, 4, 8, 16 or 32 (MiB), got ${JSON.stringify(v)}`);
      out.objectSize = mib * 1024 * 1024;
      continue;
    }
    const key = RBD_KEYS[k];
    if (!key || key === 'pool') throw new Error(`rbd backend: unknown option ${JSON.stringify(k)} (conf, id, keyring, secret_uuid, chunk_size)`);
    if (v === '') throw new Error(`rbd backend: empty ${k}`);
    out[key] = v;
  }
  return out;
}

export function chooseBackends(env: NodeJS.ProcessEnv): BackendChoice {
  const list = env.CINDERBOX_VOLUME_BACKENDS?.trim();
  if (list) {
    const backends = list.split(',').map((item) => {
      const [name = '', driver = '', ...rest] = item.trim().split(':');
      if (driver === 'rbd' && rest.length > 0 && /^[A-Za-z0-9_-]{1,64}$/.test(name)) {
        return { name, driver: 'rbd' as const, pool: name, rbd: parseRbdSpec(rest.join(':')) };
      }
      if (rest.length > 0 || !/^[A-Za-z0-9_-]{1,64}$/.test(name) || !isKind(driver)) {
        throw new Error(`CINDERBOX_VOLUME_BACKENDS: expected name:driver with driver raw or qcow2, or name:rbd:pool[?conf=…&id=…], got ${JSON.stringify(item)}`);
      }
      return { name, driver, pool: name };
    });
    if (new Set(backends.map((b) => b.name)).size !== backends.length) throw new Error('CINDERBOX_VOLUME_BACKENDS: duplicate backend name');
    return { backends, reason: `backends from CINDERBOX_VOLUME_BACKENDS; new volumes go to ${backends[0]!.name} (${backends[0]!.driver})` };
  }
  const wanted = (env.CINDERBOX_VOLUME_DRIVER ?? 'auto').trim() || 'auto';
  if (wanted !== 'auto' && !isKind(wanted)) throw new Error(`CINDERBOX_VOLUME_DRIVER must be qcow2, raw or auto, got ${JSON.stringify(wanted)}`);
  const one = (driver: VolumeDriverKind, reason: string): BackendChoice => ({ backends: [{ name: driver, driver, pool: driver }], reason });
  if (wanted !== 'auto') return one(wanted, `volume driver ${wanted}: set by CINDERBOX_VOLUME_DRIVER`);
  const q = qemuAvailability();
  return q.available
    ? one('qcow2', `volume driver qcow2 (default): ${q.detail}`)
    : one('raw', `volume driver raw: qcow2 unavailable because ${q.detail}`);
}
