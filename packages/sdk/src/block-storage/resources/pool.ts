/**
 * Scheduler pools (`GET /scheduler-stats/get_pools`): one per backend pool the scheduler places volumes on.
 * @packageDocumentation
 */
import { isRecord } from '../../util/objects.js';

/** What a pool reports of itself (the detail view's `capabilities`); numbers in GiB. */
export interface PoolCapabilities {
  poolName: string;
  volumeBackendName: string;
  vendorName: string;
  driverVersion: string;
  storageProtocol: string;
  totalCapacityGb: number | string;
  freeCapacityGb: number | string;
  reservedPercentage: number;
  thinProvisioningSupport: boolean;
  thickProvisioningSupport: boolean;
  multiattach: boolean;
  /** When the backend last reported. */
  timestamp: string | null;
  /** Every capability as the server sent it (wire names), including those not mapped above. */
  properties: Record<string, unknown>;
}

/** One scheduler pool, `host@backend#pool`; `capabilities` only in the detail view. */
export interface Pool {
  name: string;
  capabilities?: PoolCapabilities;
}

const num = (v: unknown): number | string => (typeof v === 'number' || typeof v === 'string' ? v : 0);

/** Maps one `pools` entry. @internal */
export function poolFrom(v: unknown): Pool {
  const r = isRecord(v) ? v : {};
  const pool: Pool = { name: String(r.name ?? '') };
  if (isRecord(r.capabilities)) {
    const c = r.capabilities;
    pool.capabilities = {
      poolName: String(c.pool_name ?? ''),
      volumeBackendName: String(c.volume_backend_name ?? ''),
      vendorName: String(c.vendor_name ?? ''),
      driverVersion: String(c.driver_version ?? ''),
      storageProtocol: String(c.storage_protocol ?? ''),
      // Cinder drivers may report 'infinite' or 'unknown' instead of a number.
      totalCapacityGb: num(c.total_capacity_gb),
      freeCapacityGb: num(c.free_capacity_gb),
      reservedPercentage: typeof c.reserved_percentage === 'number' ? c.reserved_percentage : 0,
      thinProvisioningSupport: c.thin_provisioning_support === true,
      thickProvisioningSupport: c.thick_provisioning_support === true,
      multiattach: c.multiattach === true,
      timestamp: typeof c.timestamp === 'string' ? c.timestamp : null,
      properties: { ...c },
    };
  }
  return pool;
}
