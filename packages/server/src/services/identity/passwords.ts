import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_LENGTH = 32;
// N=2^15, r=8 needs 32 MiB, exactly node's default maxmem, which scrypt refuses; so it is always passed.
const MAXMEM = 128 * 1024 * 1024;
export const DEFAULT_SCRYPT_LOG_N = 15;

function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * scrypt with a random salt, stored as `scrypt$N$r$p$<salt>$<key>` (base64url) so the cost can be raised
 * later without invalidating stored hashes. `logN` is lowered only by tests.
 */
export class PasswordHasher {
  private readonly params: { N: number; r: number; p: number };
  // Checked when the user does not exist, so an unknown name costs as much time as a wrong password.
  private decoy: Promise<string> | null = null;

  constructor(logN = DEFAULT_SCRYPT_LOG_N) {
    this.params = { N: 2 ** logN, r: 8, p: 1 };
  }

  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const key = await scrypt(password, salt, KEY_LENGTH, { ...this.params, maxmem: MAXMEM });
    const { N, r, p } = this.params;
    return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
  }

  /** Constant-time check; `stored` null (unknown user, user without password) still spends the hashing time. */
  async verify(password: string, stored: string | null): Promise<boolean> {
    const encoded = stored ?? (await (this.decoy ??= this.hash(randomBytes(16).toString('hex'))));
    const parts = encoded.split('$');
    if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
    const [, n, r, p, saltText, keyText] = parts as [string, string, string, string, string, string];
    const expected = Buffer.from(keyText, 'base64url');
    const key = await scrypt(password, Buffer.from(saltText, 'base64url'), expected.length, {
      N: Number(n),
      r: Number(r),
      p: Number(p),
      maxmem: MAXMEM,
    });
    return stored !== null && key.length === expected.length && timingSafeEqual(key, expected);
  }
}
