import {
  BLOCK_STORAGE_MAX_MICROVERSION,
  BLOCK_STORAGE_MIN_MICROVERSION,
  BLOCK_STORAGE_VERSION_UPDATED,
  parseMicroversion,
} from '@cinderbox/api-schema';
import { badRequest, DomainError } from '../../domain/errors.js';

/** The served range, as the contract states it (`packages/api-schema/src/microversions.ts`). */
const [minMajor, minMinor] = parseMicroversion(BLOCK_STORAGE_MIN_MICROVERSION);
const [maxMajor, maxMinor] = parseMicroversion(BLOCK_STORAGE_MAX_MICROVERSION);
export const MIN_VERSION = { major: minMajor, minor: minMinor } as const;
export const MAX_VERSION = { major: maxMajor, minor: maxMinor } as const;
export const MAX_VERSION_STRING = BLOCK_STORAGE_MAX_MICROVERSION;
export const VERSION_UPDATED = BLOCK_STORAGE_VERSION_UPDATED;

const ORDINALS = new Map<string, number>();
const ordinal = (major: number, minor: number) => major * 100_000 + minor;

export class ApiVersion {
  constructor(
    readonly major: number,
    readonly minor: number,
  ) {}
  /** True when this version is `v` or later; `v` is "3.43". */
  atLeast(v: string): boolean {
    // Views ask this per item and per field; the literals are few, so parse each once.
    let bound = ORDINALS.get(v);
    if (bound === undefined) {
      const [maj, min] = v.split('.').map(Number) as [number, number];
      bound = ordinal(maj, min);
      ORDINALS.set(v, bound);
    }
    return ordinal(this.major, this.minor) >= bound;
  }
  toString(): string {
    return `${this.major}.${this.minor}`;
  }
}

export const BASE_VERSION = new ApiVersion(3, 0);

const VERSION_RE = /^([1-9]\d*)\.([1-9]\d*|0)$/;

/**
 * Cinder's negotiation (`wsgi.Request.set_api_version_request`): no header means 3.0, `latest` means the
 * maximum, a malformed value is 400 and a well-formed one outside the range is 406.
 */
export function negotiateVersion(header: string | string[] | undefined): ApiVersion {
  if (header === undefined) return BASE_VERSION;
  const raw = Array.isArray(header) ? header.join(',') : header;
  const item = raw
    .split(',')
    .map((s) => s.trim())
    .find((s) => s.toLowerCase().includes('volume'));
  if (item === undefined) return BASE_VERSION;
  const value = item.replace(/^volume\s+/i, '').trim();
  if (value.toLowerCase() === 'latest') return new ApiVersion(MAX_VERSION.major, MAX_VERSION.minor);
  const m = VERSION_RE.exec(value);
  if (!m) throw badRequest(`API Version String ${value} is of invalid format. Must be of format MajorNum.MinorNum.`);
  const v = new ApiVersion(Number(m[1]), Number(m[2]));
  if (!v.atLeast(`${MIN_VERSION.major}.${MIN_VERSION.minor}`) || v.atLeast(`${MAX_VERSION.major}.${MAX_VERSION.minor + 1}`)) {
    throw new DomainError(
      'notAcceptable',
      `Version ${value} is not supported by the API. Minimum is ${MIN_VERSION.major}.${MIN_VERSION.minor} and maximum is ${MAX_VERSION_STRING}.`,
    );
  }
  return v;
}
