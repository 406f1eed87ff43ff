/**
 * Backup manifests (spec §3.5): one complete chunk map per backup, so any backup restores alone.
 *
 * Binary layout, big-endian:
 *   magic "CBXM" | version u8 = 1 | flags u8 (1 = encrypted body) | reserved u16 |
 *   header length u32 | header JSON (UTF-8) | body length u32 | body | trailer (32 bytes)
 * body = zstd(entries), sealed with AES-256-GCM when encrypted; entries = one 32-byte chunk id per chunk index,
 * all zero bytes for a zero chunk. trailer = SHA-256 (HMAC-SHA256 with the manifest key when encrypted) over
 * every byte before it, so a manifest from an untrusted place is checked before anything in it is used.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { compress, decompress } from 'zstd-napi';
import { type BackupStats, type ManifestHeader, RepoError } from '../domain/ports/backup-store.js';
import { ID_BYTES, openBuffer, type RepoKeys, sealBuffer } from './format.js';

export type { BackupStats, ManifestHeader };

const MAGIC = Buffer.from('CBXM', 'latin1');
const VERSION = 1;
const TRAILER = 32;

export class Manifest {
  constructor(
    readonly header: ManifestHeader,
    /** count × 32 bytes; zero bytes mark a zero chunk. */
    readonly entries: Buffer,
  ) {}

  get count(): number {
    return this.entries.length / ID_BYTES;
  }

  /** The chunk id at index i, or null for a zero chunk. */
  entry(i: number): Buffer | null {
    const e = this.entries.subarray(i * ID_BYTES, (i + 1) * ID_BYTES);
    return isZeroId(e) ? null : e;
  }

  entryHex(i: number): string | null {
    return this.entry(i)?.toString('hex') ?? null;
  }

  /** Length of chunk i (the last one may be short). */
  chunkLength(i: number): number {
    return Math.min(this.header.chunkSize, this.header.size - i * this.header.chunkSize);
  }

  /** Distinct non-zero chunk ids. */
  *ids(): Iterable<string> {
    const seen = new Set<string>();
    for (let i = 0; i < this.count; i++) {
      const id = this.entryHex(i);
      if (id !== null && !seen.has(id)) {
        seen.add(id);
        yield id;
      }
    }
  }
}

const ZERO_ID = Buffer.alloc(ID_BYTES);
export function isZeroId(e: Buffer): boolean {
  return e.equals(ZERO_ID);
}

function trailerOf(bytes: Buffer, keys: RepoKeys | undefined): Buffer {
  return keys
    ? createHmac('sha256', keys.manifestKey).update(bytes).digest()
    : createHash('sha256').update(bytes).digest();
}

export function encodeManifest(m: Manifest, keys: RepoKeys | undefined): Buffer {
  const headerJson = Buffer.from(JSON.stringify(m.header), 'utf8');
  const prefix = Buffer.alloc(12);
  MAGIC.copy(prefix, 0);
  prefix[4] = VERSION;
  prefix[5] = keys ? 1 : 0;
  prefix.writeUInt32BE(headerJson.length, 8);
  const packed = compress(m.entries, { compressionLevel: 3 });
  // The header is the AAD of the sealed body, so a body cannot be moved under another header.
  const body = keys ? sealBuffer(packed, keys.encKey, headerJson) : packed;
  const bodyLen = Buffer.alloc(4);
  bodyLen.writeUInt32BE(body.length, 0);
  const bytes = Buffer.concat([prefix, headerJson, bodyLen, body]);
  return Buffer.concat([bytes, trailerOf(bytes, keys)]);
}

/** Parses and fully validates a manifest; throws RepoError MANIFEST_CORRUPT (or WRONG_KEY) naming the problem. */
export function decodeManifest(bytes: Buffer, keys: RepoKeys | undefined, where: string): Manifest {
  const bad = (why: string) => new RepoError('MANIFEST_CORRUPT', `manifest ${where} is invalid: ${why}`);
  if (bytes.length < 12 + 4 + TRAILER || !bytes.subarray(0, 4).equals(MAGIC)) throw bad('not a manifest');
  if (bytes[4] !== VERSION) throw bad(`unknown version ${String(bytes[4])}`);
  const encrypted = bytes[5] === 1;
  if (encrypted !== (keys !== undefined)) {
    throw new RepoError(
      'WRONG_KEY',
      `manifest ${where} is ${encrypted ? 'encrypted' : 'not encrypted'}, the repository ${keys ? 'is' : 'is not'}`,
    );
  }
  const signed = bytes.subarray(0, bytes.length - TRAILER);
  const trailer = bytes.subarray(bytes.length - TRAILER);
  if (!timingSafeEqual(trailerOf(signed, keys), trailer)) throw bad('checksum mismatch');
  const headerLen = bytes.readUInt32BE(8);
  if (12 + headerLen + 4 > signed.length) throw bad('truncated header');
  const headerJson = bytes.subarray(12, 12 + headerLen);
  const bodyLen = bytes.readUInt32BE(12 + headerLen);
  if (12 + headerLen + 4 + bodyLen !== signed.length) throw bad('body length mismatch');
  const body = bytes.subarray(12 + headerLen + 4, signed.length);
  let header: ManifestHeader;
  let entries: Buffer;
  try {
    header = JSON.parse(headerJson.toString('utf8')) as ManifestHeader;
    const packed = keys ? openBuffer(body, keys.encKey, headerJson) : body;
    entries = decompress(packed);
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (
    header.format !== 1 ||
    !Number.isSafeInteger(header.size) ||
    header.size < 0 ||
    !Number.isSafeInteger(header.chunkSize) ||
    header.chunkSize <= 0 ||
    header.encrypted !== encrypted ||
    typeof header.id !== 'string' ||
    typeof header.container !== 'string'
  ) {
    throw bad('malformed header');
  }
  if (entries.length !== Math.ceil(header.size / header.chunkSize) * ID_BYTES) throw bad('entry count mismatch');
  return new Manifest(header, entries);
}

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;

/**
 * Validates a container or backup id as a single safe path segment. Rejects rather than rewrites, so two
 * different names can never map to one manifest.
 */
export function assertName(kind: 'container' | 'backup id', name: unknown): string {
  if (typeof name !== 'string' || !NAME_RE.test(name) || name.includes('..')) {
    throw new RepoError(
      'INVALID_ARGUMENT',
      `invalid ${kind} ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-'`,
    );
  }
  return name;
}

/** A locator names a manifest inside the repository: "<container>/<backup id>". */
export function makeLocator(container: string, id: string): string {
  return `${assertName('container', container)}/${assertName('backup id', id)}`;
}

/** Parses an untrusted locator; anything that is not exactly "<container>/<id>" of safe names is refused. */
export function parseLocator(locator: unknown): { container: string; id: string } {
  if (typeof locator !== 'string') throw new RepoError('INVALID_ARGUMENT', 'locator must be a string');
  const parts = locator.split('/');
  if (parts.length !== 2) throw new RepoError('INVALID_ARGUMENT', `invalid locator ${JSON.stringify(locator)}`);
  return { container: assertName('container', parts[0]), id: assertName('backup id', parts[1]) };
}

export function manifestKey(locator: string): string {
  const { container, id } = parseLocator(locator);
  return `backups/${container}/${id}.manifest`;
}

/** Key of the lease a running backup holds (garbage collection keeps the chunks it has written so far). */
export function leaseKey(locator: string): string {
  const { container, id } = parseLocator(locator);
  return `locks/leases/${container}/${id}`;
}

export const MANIFEST_KEY_RE = /^backups\/([^/]+)\/([^/]+)\.manifest$/;
