/** Bytes in a GiB: Cinder sizes volumes, snapshots and backups in whole GiB (CBR says GB and means the same). */
export const GiB = 1024 * 1024 * 1024;

/** The ids cinderbox issues (lowercase UUIDs); anything else is looked up as "not found" without a query. */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
