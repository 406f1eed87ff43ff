/**
 * On-disk formats shared by the main thread and the chunk workers: chunk objects, chunk ids and key derivation.
 *
 * Chunk object (spec §3.4), big-endian:
 *   magic "CBXC" | version u8 = 2 | codec u8 (0 raw, 1 zstd, 2 lz4 block) | flags u8 (1 = encrypted) | reserved u8 |
 *   raw length u32 | payload length u32 | [nonce 12 | GCM tag 16 when encrypted] | payload | crc32 u32
 * The CRC covers every byte before it, so bit rot is found without the key. From version 2 the CRC starts from
 * the CRC of the chunk's 32-byte id (its object key), so an object stored under another chunk's key — a valid
 * chunk in the wrong place — fails the same cheap check at no extra cost; version 1 objects (written before)
 * are still read, and only the full check (decrypt, decompress, recompute the chunk id) ties them to their key.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const CHUNK_MAGIC = Buffer.from('CBXC', 'latin1');
export const CHUNK_VERSION = 2;
/** Chunks written before the CRC was keyed by the chunk id; still readable. */
export const CHUNK_VERSION_UNBOUND = 1;
export const CODEC_RAW = 0;
export const CODEC_ZSTD = 1;
/** LZ4 block format (no frame): the chunk header's raw length bounds the output. */
export const CODEC_LZ4 = 2;
export const FLAG_ENCRYPTED = 1;
export const CHUNK_HEADER = 16;
export const CRYPTO_OVERHEAD = 28;
export const ID_BYTES = 32;

/** Keys derived from the configured master key; absent for an unencrypted repository. */
export interface RepoKeys {
  /** Key of the chunk ids (keyed BLAKE3 or HMAC-SHA256), so ids do not reveal content. */
  idKey: Buffer;
  /** AES-256-GCM key for chunk payloads and manifest bodies. */
  encKey: Buffer;
  /** HMAC-SHA256 key authenticating manifests. */
  manifestKey: Buffer;
  /** Stored in the repo config: proves the key without revealing it. */
  keyCheck: string;
}

/** Derives the repository's working keys from the master key; the salt is the repository id. */
export function deriveKeys(master: Buffer, repoId: string): RepoKeys {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', master, Buffer.from(repoId), info, 32));
  const check = derive('cinderbox/backup-repo/key-check');
  return {
    idKey: derive('cinderbox/backup-repo/chunk-id'),
    encKey: derive('cinderbox/backup-repo/chunk-enc'),
    manifestKey: derive('cinderbox/backup-repo/manifest-mac'),
    keyCheck: createHmac('sha256', check).update('cinderbox key check v1').digest('hex'),
  };
}

/** Object key of a chunk: 256 fan-out directories by the first byte. */
export function chunkKey(idHex: string): string {
  return `chunks/${idHex.slice(0, 2)}/${idHex}`;
}

export const CHUNK_KEY_RE = /^chunks\/([0-9a-f]{2})\/([0-9a-f]{64})$/;

/** The CRC a version-2 chunk object's own CRC starts from: that of its id, so the object is bound to its key. */
export function idCrc(idHex: string): number {
  return crc32(Buffer.from(idHex, 'hex')) >>> 0;
}

/** Builds a chunk object around an already compressed (or raw) payload. Returns a transferable buffer. */
export function encodeChunkObject(
  payload: Uint8Array,
  codec: number,
  rawLength: number,
  encKey: Buffer | undefined,
  idHex: string,
): Buffer {
  const header = Buffer.alloc(CHUNK_HEADER);
  CHUNK_MAGIC.copy(header, 0);
  header[4] = CHUNK_VERSION;
  header[5] = codec;
  header[6] = encKey ? FLAG_ENCRYPTED : 0;
  header.writeUInt32BE(rawLength, 8);
  header.writeUInt32BE(payload.length, 12);
  const total = CHUNK_HEADER + (encKey ? CRYPTO_OVERHEAD : 0) + payload.length + 4;
  // allocUnsafeSlow: the object owns its ArrayBuffer, so it can be transferred between threads without a copy.
  const out = Buffer.allocUnsafeSlow(total);
  header.copy(out, 0);
  let pos = CHUNK_HEADER;
  if (encKey) {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', encKey, nonce);
    cipher.setAAD(header);
    const ct = cipher.update(payload);
    cipher.final();
    nonce.copy(out, pos);
    cipher.getAuthTag().copy(out, pos + 12);
    pos += CRYPTO_OVERHEAD;
    ct.copy(out, pos);
  } else {
    out.set(payload, pos);
  }
  pos += payload.length;
  out.writeUInt32BE(crc32(out.subarray(0, pos), idCrc(idHex)) >>> 0, pos);
  return out;
}

/** Where the (plaintext) payload starts inside a chunk object. */
export function payloadOffset(encrypted: boolean): number {
  return CHUNK_HEADER + (encrypted ? CRYPTO_OVERHEAD : 0);
}

/** The largest chunk object for a chunk of `chunkSize` bytes (raw payload: compressed ones are smaller). */
export function maxChunkObjectSize(chunkSize: number): number {
  return CHUNK_HEADER + CRYPTO_OVERHEAD + chunkSize + 4;
}

/**
 * Completes a chunk object in place: `out` already holds the plaintext payload at payloadOffset(encrypted);
 * writes the header, encrypts the payload when `encKey` is set, appends the CRC. Returns the object length.
 * Same bytes as encodeChunkObject, without allocating the object (the caller reuses `out`).
 */
export function finishChunkObject(
  out: Buffer,
  payloadLength: number,
  codec: number,
  rawLength: number,
  encKey: Buffer | undefined,
  idHex: string,
): number {
  out.fill(0, 0, CHUNK_HEADER);
  CHUNK_MAGIC.copy(out, 0);
  out[4] = CHUNK_VERSION;
  out[5] = codec;
  out[6] = encKey ? FLAG_ENCRYPTED : 0;
  out.writeUInt32BE(rawLength, 8);
  out.writeUInt32BE(payloadLength, 12);
  let pos = payloadOffset(encKey !== undefined);
  if (encKey) {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', encKey, nonce);
    cipher.setAAD(out.subarray(0, CHUNK_HEADER));
    const ct = cipher.update(out.subarray(pos, pos + payloadLength));
    cipher.final();
    nonce.copy(out, CHUNK_HEADER);
    cipher.getAuthTag().copy(out, CHUNK_HEADER + 12);
    ct.copy(out, pos);
  }
  pos += payloadLength;
  out.writeUInt32BE(crc32(out.subarray(0, pos), idCrc(idHex)) >>> 0, pos);
  return pos + 4;
}

export interface ParsedChunk {
  codec: number;
  encrypted: boolean;
  rawLength: number;
  /** Payload as stored (still encrypted when `encrypted`). */
  payload: Buffer;
  nonce: Buffer | undefined;
  tag: Buffer | undefined;
  header: Buffer;
}

/**
 * Structural and CRC check of the object stored under chunk id `idHex`; throws an Error whose message says what
 * is wrong. Without `idHex` (a reader that only wants the header) a version-2 CRC cannot be checked and is not.
 * `checkCrc: false` is for a reader that decodes and re-hashes the plaintext against its id anyway (restore,
 * full verify): that check catches everything the CRC would, and the CRC pass over the object cost about a fifth
 * of a restore's CPU.
 */
export function parseChunkObject(obj: Buffer, idHex?: string, checkCrc = true): ParsedChunk {
  if (obj.length < CHUNK_HEADER + 4) throw new Error(`object too short (${obj.length} bytes)`);
  if (!obj.subarray(0, 4).equals(CHUNK_MAGIC)) throw new Error('bad magic');
  const version = obj[4];
  if (version !== CHUNK_VERSION && version !== CHUNK_VERSION_UNBOUND) throw new Error(`unknown chunk version ${String(version)}`);
  const codec = obj[5] ?? -1;
  if (codec !== CODEC_RAW && codec !== CODEC_ZSTD && codec !== CODEC_LZ4) throw new Error(`unknown codec ${codec}`);
  const encrypted = ((obj[6] ?? 0) & FLAG_ENCRYPTED) !== 0;
  const rawLength = obj.readUInt32BE(8);
  const payloadLength = obj.readUInt32BE(12);
  const expected = CHUNK_HEADER + (encrypted ? CRYPTO_OVERHEAD : 0) + payloadLength + 4;
  if (obj.length !== expected) throw new Error(`length ${obj.length} does not match header (${expected})`);
  const crcPos = obj.length - 4;
  if (!checkCrc) {
    // The caller's id check of the plaintext stands in for it.
  } else if (version === CHUNK_VERSION_UNBOUND) {
    if (crc32(obj.subarray(0, crcPos)) >>> 0 !== obj.readUInt32BE(crcPos)) throw new Error('CRC mismatch');
  } else if (idHex !== undefined && crc32(obj.subarray(0, crcPos), idCrc(idHex)) >>> 0 !== obj.readUInt32BE(crcPos)) {
    // Bit rot and a swap look alike here; telling them apart would cost the full decode, which --full does.
    throw new Error('CRC mismatch: the object is damaged, or is another chunk stored under this key');
  }
  let pos = CHUNK_HEADER;
  let nonce: Buffer | undefined;
  let tag: Buffer | undefined;
  if (encrypted) {
    nonce = obj.subarray(pos, pos + 12);
    tag = obj.subarray(pos + 12, pos + 28);
    pos += CRYPTO_OVERHEAD;
  }
  return {
    codec,
    encrypted,
    rawLength,
    payload: obj.subarray(pos, pos + payloadLength),
    nonce,
    tag,
    header: obj.subarray(0, CHUNK_HEADER),
  };
}

/** Decrypts the payload of a parsed chunk (authenticating it); returns the payload unchanged when not encrypted. */
export function decryptPayload(chunk: ParsedChunk, encKey: Buffer | undefined): Buffer {
  if (!chunk.encrypted) {
    if (encKey) throw new Error('chunk is not encrypted in an encrypted repository');
    return chunk.payload;
  }
  if (!encKey || !chunk.nonce || !chunk.tag) throw new Error('chunk is encrypted and no key is configured');
  const decipher = createDecipheriv('aes-256-gcm', encKey, chunk.nonce);
  decipher.setAAD(chunk.header);
  decipher.setAuthTag(chunk.tag);
  const out = decipher.update(chunk.payload);
  try {
    decipher.final();
  } catch {
    throw new Error('authentication failed (wrong key or tampered chunk)');
  }
  return out;
}

/** GCM with a random nonce over a whole buffer: nonce 12 | tag 16 | ciphertext (used for manifest bodies). */
export function sealBuffer(plain: Uint8Array, key: Buffer, aad: Uint8Array): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([nonce, cipher.getAuthTag(), ct]);
}

export function openBuffer(sealed: Buffer, key: Buffer, aad: Uint8Array): Buffer {
  if (sealed.length < 28) throw new Error('sealed buffer too short');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(12, 28));
  return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
}
