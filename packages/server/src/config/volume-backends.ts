/**
 * Which volume driver each backend uses. `qcow2` (O(1) snapshots on any filesystem, changed-block tracking) is the
 * default when qemu-img and qemu-io can be run; otherwise `raw`. Operators choose with CINDERBOX_VOLUME_DRIVER
 * (qcow2 | raw | auto) or list backends with CINDERBOX_VOLUME_BACKENDS="name:driver[,name:driver…]" (the first one
 * receives new volumes). A backend is named after its driver by default, so a volume, which records its backend,
 * keeps the driver it was created with.
 */
import { execFileSync } from 'node:child_process';

export type VolumeDriverKind = 'raw' | 'qcow2';
export const VOLUME_DRIVER_KINDS: readonly VolumeDriverKind[] = ['raw', 'qcow2'];

export interface BackendChoice {
  backends: { name: string; driver: VolumeDriverKind; pool: string }[];
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

export function chooseBackends(env: NodeJS.ProcessEnv): BackendChoice {
  const list = env.CINDERBOX_VOLUME_BACKENDS?.trim();
  if (list) {
    const backends = list.split(',').map((item) => {
      const [name = '', driver = '', extra] = item.trim().split(':');
      if (extra !== undefined || !/^[A-Za-z0-9_-]{1,64}$/.test(name) || !isKind(driver)) {
        throw new Error(`CINDERBOX_VOLUME_BACKENDS: expected name:driver with driver raw or qcow2, got ${JSON.stringify(item)}`);
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
