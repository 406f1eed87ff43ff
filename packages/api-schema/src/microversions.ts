/**
 * The Block Storage v3 microversions cinderbox serves: the one place the range is stated. The server negotiates
 * with it, the SDK caps its requests with it, the CLI prints it and the OpenAPI documents describe it.
 */
import type { VersionRange } from './operation.js';

/** Cinder Zed, as Debian bookworm ships it. */
export const BLOCK_STORAGE_MIN_MICROVERSION = '3.0';
export const BLOCK_STORAGE_MAX_MICROVERSION = '3.70';
/** The `updated` stamp of the v3 entry in the versions document (Zed's release). */
export const BLOCK_STORAGE_VERSION_UPDATED = '2022-08-31T00:00:00Z';

/** Request header carrying the microversion, and its service name for block storage. */
export const MICROVERSION_HEADER = 'OpenStack-API-Version';
export const BLOCK_STORAGE_SERVICE_TYPE = 'volume';

/** `[major, minor]` of `"3.43"`; throws on anything else, since every caller passes a literal or a checked value. */
export function parseMicroversion(v: string): [number, number] {
  const m = /^(\d+)\.(\d+)$/.exec(v);
  if (!m) throw new Error(`not a microversion: ${v}`);
  return [Number(m[1]), Number(m[2])];
}

/** Negative, zero or positive as `a` is below, equal to or above `b`. */
export function compareMicroversion(a: string, b: string): number {
  const [am, an] = parseMicroversion(a);
  const [bm, bn] = parseMicroversion(b);
  return am === bm ? an - bn : am - bm;
}

/** Whether `v` lies in `range` (both ends inclusive, an absent end open). */
export function inVersionRange(v: string, range: VersionRange | undefined): boolean {
  if (!range) return true;
  if (range.min !== undefined && compareMicroversion(v, range.min) < 0) return false;
  if (range.max !== undefined && compareMicroversion(v, range.max) > 0) return false;
  return true;
}

/** `"3.43 and later"`, `"3.0 to 3.42"`: a range as the reference pages and schema descriptions state it. */
export function describeVersionRange(range: VersionRange): string {
  const { min, max } = range;
  if (min !== undefined && max !== undefined) return min === max ? `microversion ${min} only` : `microversions ${min} to ${max}`;
  if (min !== undefined) return `microversion ${min} and later`;
  if (max !== undefined) return `up to microversion ${max}`;
  return 'every microversion';
}
