/**
 * Opens one volume driver per backend for the composition root. A backend that existing volumes still name but
 * the configuration no longer lists (say a data directory made with `raw` before qcow2 became the default) is
 * opened too when its name is a driver's name, so every volume keeps the driver it was created with.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BackendConfig, ServerConfig } from '../../config/config.js';
import { qemuAvailability, VOLUME_DRIVER_KINDS, type VolumeDriverKind } from '../../config/volume-backends.js';
import { withStorageTag } from '../../domain/errors.js';
import type { VolumeDriver } from '../../domain/ports/volume-driver.js';
import { createQcow2VolumeDriver } from './qcow2/qcow2-driver.js';
import { createRawVolumeDriver } from './raw/raw-driver.js';
import { createRbdVolumeDriver } from './rbd/rbd-driver.js';

export interface OpenedVolumeDrivers {
  drivers: Map<string, VolumeDriver>;
  /** The configured backends, then those only existing volumes name (so new volumes still go to the default). */
  backends: BackendConfig[];
}

/** `inUse`: the backend names existing volumes carry (the caller reads them from the store). */
export async function openVolumeDrivers(
  config: Pick<ServerConfig, 'backends' | 'dataDir' | 'volumeDriverReason'>,
  inUse: readonly string[],
  logger: Logger,
): Promise<OpenedVolumeDrivers> {
  const backends = [...config.backends];
  const known = new Set(backends.map((b) => b.name));
  for (const driver of inUse) {
    if (known.has(driver) || !(VOLUME_DRIVER_KINDS as readonly string[]).includes(driver)) continue;
    backends.push({ name: driver, driver: driver as VolumeDriverKind, pool: driver });
    known.add(driver);
    logger.info({ backend: driver }, 'opening a backend that is no longer configured: existing volumes use it');
  }
  const qemu = qemuAvailability();
  const drivers = new Map<string, VolumeDriver>();
  for (const b of backends) {
    const driver = await openDriver(config.dataDir, b);
    if (b.driver === 'qcow2' && !qemu.available) {
      logger.error({ backend: b.name }, `backend ${b.name} uses qcow2 but ${qemu.detail}: its volumes cannot be used`);
    }
    await driver.sweepTemporaries();
    // Its failures name it, so an out-of-space answer says which backend is full.
    drivers.set(b.name, withStorageTag(driver, `Volume backend ${b.name}`));
  }
  logger.info({ backends: backends.map((b) => `${b.name}:${b.driver}`) }, config.volumeDriverReason);
  return { drivers, backends };
}

function openDriver(dataDir: string, b: BackendConfig): Promise<VolumeDriver> {
  const directory = join(dataDir, 'volumes', b.name);
  // Its images live in Ceph; the directory only holds temporaries (backup exports, restore staging).
  if (b.driver === 'rbd') {
    if (!b.rbd) throw new Error(`backend ${b.name}: rbd needs a pool (name:rbd:pool)`);
    return createRbdVolumeDriver({ name: b.name, directory, ...b.rbd });
  }
  return b.driver === 'qcow2'
    ? createQcow2VolumeDriver({ name: b.name, directory })
    : createRawVolumeDriver({ name: b.name, directory });
}
