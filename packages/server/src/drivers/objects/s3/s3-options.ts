/**
 * What configuration needs of an S3 target without loading the AWS SDK (about a fifth of the server's start-up
 * when it is imported whether or not a target uses S3): its options, its URL form and its error. The store itself
 * is in s3-object-store.ts, imported when an s3:// target is opened.
 */
import { DomainError } from '../../../domain/errors.js';
import { assertValidKey } from '../../../domain/ports/object-store.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' or 'a/b'; a trailing '/' is added). */
  prefix?: string;
  /** Endpoint URL (radosgw, MinIO…); AWS when absent. Path-style addressing is used whenever one is given. */
  endpoint?: string;
  region?: string;
  /** Explicit credentials; absent, the SDK's standard chain (AWS_ACCESS_KEY_ID/…, AWS_PROFILE, profiles, IMDS). */
  credentials?: S3Credentials;
  /** A profile of ~/.aws/config and ~/.aws/credentials, instead of explicit credentials. */
  profile?: string;
  /** Attempts per request, first included (SDK standard retry mode: exponential backoff with jitter). Default 4. */
  maxAttempts?: number;
  /** Milliseconds to establish a connection. Default 5000. */
  connectTimeoutMs?: number;
  /** Milliseconds a request may sit without progress on its socket. Default 30000. */
  requestTimeoutMs?: number;
  /** Part size of putStream's multipart uploads (≥ 5 MiB). Default 8 MiB. */
  partSize?: number;
  /** Parts of one putStream in flight at once. Default 2. */
  partConcurrency?: number;
  /** Keys per list request (S3's maximum and default: 1000); smaller only to test paging. */
  listPageSize?: number;
  /**
   * An immutable target (`lock_days=` on its URL): the bucket must have Object Lock enabled (probe() checks), and
   * retain() sets retention in this mode. COMPLIANCE: nobody can shorten or lift it; GOVERNANCE: a principal
   * with s3:BypassGovernanceRetention can.
   */
  objectLock?: { mode: 'COMPLIANCE' | 'GOVERNANCE' };
  /**
   * Send `Expect: 100-continue` on PUTs of 2 MiB or more (the SDK's default). Off by default: the SDK's node handler
   * opens a fresh, non-keep-alive connection for every such request and waits a round trip before the body, which
   * costs a connection per stored chunk; what it saves is the upload of a body the server refuses, and our refusals
   * (412 on a chunk that exists) are mostly avoided by the chunk index before any request.
   */
  expectContinue?: boolean;
}

export type S3FailureReason = 'auth' | 'unavailable' | 'bucket' | 'io';

/**
 * A failure of the S3 target itself (not of the request that led to it): 503 `serviceUnavailable` in every API
 * dialect, so a client retries later instead of reading a 500, with a message that names the target.
 */
export class S3StoreError extends DomainError {
  constructor(
    readonly reason: S3FailureReason,
    message: string,
    cause: unknown,
  ) {
    super('serviceUnavailable', message, { cause });
    this.name = 'S3StoreError';
  }
}

/**
 * Parses `s3://bucket/prefix?endpoint=URL&region=R&profile=P` (the form backup targets are configured with).
 * Credentials never travel in the URL: they come from the standard chain or the named profile.
 */
export function parseS3Url(url: string): S3ObjectStoreOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`not a URL: ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 's3:') throw new Error(`not an s3:// URL: ${JSON.stringify(url)}`);
  // URL() folds '.' and '..' segments away; a prefix must be what it says, not what it resolves to.
  if (/^s3:\/\/[^/?#]*(\/[^?#]*)?\/\.{1,2}(?=[/?#]|$)/i.test(url)) throw new Error(`invalid prefix in ${JSON.stringify(url)}: '.' and '..' segments`);
  if (u.username || u.password) throw new Error('credentials do not belong in an s3:// URL: use the AWS credential chain or profile=');
  const bucket = u.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new Error(`invalid bucket name ${JSON.stringify(bucket)}`);
  const opts: S3ObjectStoreOptions = { bucket, prefix: decodeURIComponent(u.pathname.replace(/^\/+|\/+$/g, '')) };
  for (const [k, v] of u.searchParams) {
    if (k === 'endpoint') opts.endpoint = v;
    else if (k === 'region') opts.region = v;
    else if (k === 'profile') opts.profile = v;
    else throw new Error(`unknown s3:// URL parameter ${JSON.stringify(k)} (known: endpoint, region, profile)`);
  }
  if (opts.prefix) assertValidKey(opts.prefix);
  return opts;
}
