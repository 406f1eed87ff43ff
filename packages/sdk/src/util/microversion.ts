/**
 * Microversion parsing and comparison (`"3.64"` style strings).
 * @packageDocumentation
 */

/** A parsed microversion. @example `parseMicroversion('3.64') // { major: 3, minor: 64 }` */
export interface Microversion {
  major: number;
  minor: number;
}

/**
 * Parses `"3.64"` (also `"v3.64"`). Returns undefined for empty or invalid input.
 *
 * @example
 * ```ts
 * parseMicroversion('3.5'); // { major: 3, minor: 5 }
 * ```
 */
export function parseMicroversion(value: string | undefined | null): Microversion | undefined {
  if (!value) return undefined;
  const m = /^v?(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2] ?? 0) };
}

/**
 * Compares two microversions: negative when a < b, 0 when equal, positive when a > b.
 *
 * @example
 * ```ts
 * compareMicroversions('3.9', '3.10') < 0; // true
 * ```
 */
export function compareMicroversions(a: string, b: string): number {
  const pa = parseMicroversion(a);
  const pb = parseMicroversion(b);
  if (!pa || !pb) throw new TypeError(`invalid microversion: ${pa ? b : a}`);
  return pa.major - pb.major || pa.minor - pb.minor;
}

/** The smaller of two microversions. @example `minMicroversion('3.70', '3.64') // '3.64'` */
export function minMicroversion(a: string, b: string): string {
  return compareMicroversions(a, b) <= 0 ? a : b;
}

/** The larger of two microversions. @example `maxMicroversion('3.0', '3.9') // '3.9'` */
export function maxMicroversion(a: string, b: string): string {
  return compareMicroversions(a, b) >= 0 ? a : b;
}

/** Formats a parsed microversion. @example `formatMicroversion({ major: 3, minor: 9 }) // '3.9'` */
export function formatMicroversion(v: Microversion): string {
  return `${v.major}.${v.minor}`;
}
