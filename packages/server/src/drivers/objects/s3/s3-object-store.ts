/**
 * S3 ObjectStore (AWS S3, Ceph radosgw): key "a/b/c" is the object `<prefix>a/b/c` in one bucket. Create-only
 * puts are `PutObject` with `If-None-Match: *`, so the server decides atomically who created a key (412 = it was
 * already there); a PUT is durable when it returns, so flush() has nothing to do. S3 has no "touch": it is a copy of
 * the object onto itself with fresh metadata, which also moves Last-Modified. Last-Modified has whole seconds only,
 * so the exact mtime is kept in the object's metadata too and head() reads it from there.
 *
 * Every failure other than a missing key becomes an S3StoreError naming the target (bucket, prefix, endpoint) and
 * what went wrong in words an operator can act on (credentials refused, endpoint unreachable, bucket missing).
 */
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectRetentionCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  assertValidKey,
  type ObjectInfo,
  type ObjectStore,
  type ObjectStoreError,
  type PutOptions,
  type PutResult,
} from '../../../domain/ports/object-store.js';

import { S3StoreError, type S3FailureReason, type S3ObjectStoreOptions } from './s3-options.js';

// Kept importable from here as before; s3-options.ts holds them so that configuration does not load the SDK.
export { parseS3Url, S3StoreError, type S3Credentials, type S3FailureReason, type S3ObjectStoreOptions } from './s3-options.js';

/** The metadata entry (`x-amz-meta-cbx-mtime`) holding the mtime in milliseconds. */
const MTIME_META = 'cbx-mtime';
/** Incomplete multipart uploads older than this belong to writers that died; sweepTemporaries aborts them. */
const STALE_UPLOAD_MS = 24 * 3600 * 1000;

export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  readonly bucket: string;
  readonly client: S3Client;
  /** The key prefix inside the bucket ('' or ending in '/'). */
  readonly prefix: string;
  private readonly partSize: number;
  private readonly partConcurrency: number;
  private readonly listPageSize: number | undefined;
  private readonly lockMode: 'COMPLIANCE' | 'GOVERNANCE' | undefined;

  constructor(opts: S3ObjectStoreOptions) {
    this.bucket = opts.bucket;
    const prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (prefix) assertValidKey(prefix);
    this.prefix = prefix ? `${prefix}/` : '';
    this.description = `s3://${opts.bucket}/${this.prefix}${opts.endpoint ? ` at ${opts.endpoint}` : ''}`;
    this.partSize = Math.max(opts.partSize ?? 8 * 1024 * 1024, 5 * 1024 * 1024);
    this.partConcurrency = Math.max(1, opts.partConcurrency ?? 2);
    this.listPageSize = opts.listPageSize;
    this.lockMode = opts.objectLock?.mode;
    if (this.lockMode) this.retain = (key, until) => this.putRetention(key, until);
    const config: S3ClientConfig = {
      region: opts.region ?? process.env.AWS_REGION ?? 'us-east-1',
      maxAttempts: opts.maxAttempts ?? 4,
      retryMode: 'standard',
      requestHandler: {
        connectionTimeout: opts.connectTimeoutMs ?? 5000,
        requestTimeout: opts.requestTimeoutMs ?? 30_000,
      },
      // Checksums only where S3 requires them: radosgw 16 predates the newer default (CRC32 trailers), and a CRC32
      // over every body would only repeat what the repository checks anyway: a chunk's name is the hash of its
      // content, verified on every restore, and a manifest ends with its own SHA-256 (an HMAC when encrypted).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      expectContinueHeader: opts.expectContinue === true ? 2 * 1024 * 1024 : false,
    };
    if (opts.endpoint) {
      config.endpoint = opts.endpoint;
      config.forcePathStyle = true;
    }
    if (opts.credentials) config.credentials = opts.credentials;
    if (opts.profile) config.profile = opts.profile;
    this.client = new S3Client(config);
  }

  /** The S3 object name of `key` (prefix included). */
  objectName(key: string): string {
    assertValidKey(key);
    return this.prefix + key;
  }

  /** Checks that the bucket is reachable with these credentials (for a server that refuses to start otherwise). */
  async probe(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      // HEAD has no body, so S3 cannot say NoSuchBucket: a 404 here is just that.
      if (httpStatus(e) === 404) throw this.fail(Object.assign(new Error('NoSuchBucket'), { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }), 'check the bucket');
      throw this.fail(e, 'check the bucket');
    }
    if (!this.lockMode) return;
    let enabled = false;
    try {
      const out = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.bucket }));
      enabled = out.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
    } catch (e) {
      // S3 answers a bucket without Object Lock with an error, not with a disabled configuration.
      if (!/ObjectLockConfigurationNotFound/i.test(String((e as { name?: string }).name)) && httpStatus(e) !== 404) throw this.fail(e, 'read the Object Lock configuration of');
    }
    if (!enabled) {
      throw new S3StoreError(
        'bucket',
        `S3 target ${this.description} has lock_days but bucket ${JSON.stringify(this.bucket)} has no Object Lock: create the bucket with Object Lock enabled (it cannot be turned on later on radosgw) or drop lock_days`,
        undefined,
      );
    }
  }

  /** Set by the constructor on an immutable target (Object Lock): see ObjectStore.retain. */
  readonly retain?: (key: string, until: Date) => Promise<void>;

  /**
   * PutObjectRetention on the current version. A retention that already ends later is left alone: S3 refuses to
   * shorten one (COMPLIANCE always, GOVERNANCE without bypass), so a chunk a later backup locked longer keeps that.
   */
  private async putRetention(key: string, until: Date): Promise<void> {
    const name = this.objectName(key);
    const put = () =>
      this.client.send(
        new PutObjectRetentionCommand({ Bucket: this.bucket, Key: name, Retention: { Mode: this.lockMode, RetainUntilDate: until } }),
      );
    try {
      await put();
    } catch (e) {
      if (isMissing(e)) throw missing(key);
      // Refused: look whether it is because the object is already held longer (then there is nothing to do).
      let current: Date | undefined;
      try {
        current = (await this.client.send(new GetObjectRetentionCommand({ Bucket: this.bucket, Key: name }))).Retention?.RetainUntilDate;
      } catch {
        // Fall through to the original failure.
      }
      if (current && current.getTime() >= until.getTime()) return;
      throw this.fail(e, 'set the retention of', key);
    }
  }

  /** Creates the bucket when it does not exist (tests, first use of a target). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      const name = (e as { name?: string }).name;
      // BucketAlreadyExists means another account owns the name: that is a failure, not ours to use.
      if (name === 'BucketAlreadyOwnedByYou') return;
      throw this.fail(e, 'create the bucket');
    }
  }

  async put(key: string, data: Uint8Array, opts: PutOptions = {}): Promise<PutResult> {
    const name = this.objectName(key);
    if (this.lockMode && !opts.overwrite) {
      // Object Lock buckets are versioned, and radosgw 16 ignores If-None-Match there (a second PUT just adds a
      // version, unlocked): look first. A race only costs a redundant version of the same bytes.
      const info = await this.head(key);
      if (info) {
        // Retention outlasting any grace period already keeps gc away: a touch would only add a version.
        if (opts.touchExisting && !(info.retainUntil && info.retainUntil.getTime() > Date.now() + 86_400_000)) await this.touch(key);
        return { existed: true };
      }
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: name,
            Body: data,
            ContentLength: data.byteLength,
            Metadata: { [MTIME_META]: String(Date.now()) },
            ...(opts.overwrite ? {} : { IfNoneMatch: '*' }),
          }),
        );
        opts.onDataReleased?.();
        return { existed: false };
      } catch (e) {
        const status = httpStatus(e);
        // 412: the key exists. (A PUT the SDK retried after a lost answer can meet its own first attempt here; the
        // object then holds this call's bytes and is reported as existing.)
        if (!opts.overwrite && status === 412) {
          if (!opts.touchExisting) return { existed: true };
          try {
            await this.touch(key);
            return { existed: true };
          } catch (te) {
            // Gone between the PUT and the touch (a concurrent sweep): write it again.
            if ((te as { code?: unknown }).code !== 'ENOENT' || attempt >= 3) throw te;
            continue;
          }
        }
        // 409: another conditional write of this key was in progress (AWS); the retry sees its outcome.
        if (status === 409 && attempt < 3) continue;
        throw this.fail(e, 'write', key);
      }
    }
  }

  /**
   * Writes a stream of any size as a multipart upload (parts of `partSize`, `partConcurrency` in flight), so memory
   * stays bounded by about partSize × (partConcurrency + 1). Replaces an existing object: large objects have unique
   * names, and multipart completion cannot be made conditional on radosgw 16.
   */
  async putStream(key: string, body: Readable): Promise<{ size: number }> {
    const name = this.objectName(key);
    let size = 0;
    const counted = Readable.from(
      (async function* () {
        for await (const c of body) {
          size += (c as Buffer).length;
          yield c as Buffer;
        }
      })(),
    );
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: name, Body: counted, Metadata: { [MTIME_META]: String(Date.now()) } },
      partSize: this.partSize,
      queueSize: this.partConcurrency,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (e) {
      throw this.fail(e, 'write', key);
    }
    return { size };
  }

  async get(key: string): Promise<Buffer> {
    const body = await this.getBody(key);
    try {
      return Buffer.from(await body.transformToByteArray());
    } catch (e) {
      throw this.fail(e, 'read', key);
    }
  }

  /**
   * Reads the object into `into` as its bytes arrive and returns its size (the repository's restore and verify
   * read chunks into shared buffers this way): no per-object allocation or copies of the whole body. When the
   * object is larger than `into`, the rest is read and counted, not kept.
   *
   * The body arrives in socket-sized parts (64 KiB: 64 per chunk); a 'data' listener copies each one where an
   * async iterator would add a promise and a microtask round per part, which was a measurable share of restore CPU
   * on a 2-core host that radosgw shares (bench/backup/s3-get.ts).
   */
  async getInto(key: string, into: Uint8Array): Promise<number> {
    const body = await this.getBody(key);
    const stream: Readable =
      body instanceof Readable ? body : Readable.fromWeb(body.transformToWebStream() as Parameters<typeof Readable.fromWeb>[0]);
    try {
      return await new Promise<number>((resolve, reject) => {
        let size = 0;
        stream.on('data', (part: Uint8Array) => {
          if (size < into.length) into.set(part.length <= into.length - size ? part : part.subarray(0, into.length - size), size);
          size += part.length;
        });
        stream.once('end', () => resolve(size));
        stream.once('error', reject);
        // A socket closed before the body ended emits 'aborted'/'close' without 'end' on some Node versions.
        stream.once('close', () => {
          if (!stream.readableEnded) reject(Object.assign(new Error('the connection closed before the body ended'), { code: 'ECONNRESET' }));
        });
      });
    } catch (e) {
      stream.destroy();
      throw this.fail(e, 'read', key);
    }
  }

  async getStream(key: string): Promise<NodeJS.ReadableStream> {
    const body = await this.getBody(key);
    if (body instanceof Readable) return body;
    return Readable.fromWeb(body.transformToWebStream() as Parameters<typeof Readable.fromWeb>[0]);
  }

  private async getBody(key: string) {
    const name = this.objectName(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: name }));
      if (!out.Body) throw new Error('the response has no body');
      return out.Body as NonNullable<typeof out.Body> & Partial<Readable>;
    } catch (e) {
      if (isMissing(e)) throw missing(key);
      throw this.fail(e, 'read', key);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const name = this.objectName(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: name }));
      const info: ObjectInfo & { versionId?: string } = { key, size: out.ContentLength ?? 0, mtime: mtimeOf(out.Metadata, out.LastModified) };
      if (out.ObjectLockRetainUntilDate) info.retainUntil = new Date(out.ObjectLockRetainUntilDate);
      if (out.VersionId) info.versionId = out.VersionId;
      return info;
    } catch (e) {
      if (isMissing(e)) return null;
      throw this.fail(e, 'look up', key);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            ContinuationToken: token,
            MaxKeys: this.listPageSize,
          }),
        );
      } catch (e) {
        throw this.fail(e, 'list', prefix || '(all)');
      }
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        const key = o.Key.slice(this.prefix.length);
        // Something else's object under our prefix (a name no key of ours can have): not ours to report.
        try {
          assertValidKey(key);
        } catch {
          continue;
        }
        yield { key, size: o.Size ?? 0, mtime: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<boolean> {
    // S3's DELETE succeeds on a missing key too; the HEAD answers "did it exist".
    const info = (await this.head(key)) as (ObjectInfo & { versionId?: string }) | null;
    if (info === null) return false;
    // Under Object Lock a plain DELETE "succeeds" by hiding the object behind a delete marker while the locked
    // version stays: refuse instead, so no caller believes a locked object is gone.
    if (info.retainUntil && info.retainUntil.getTime() > Date.now()) throw locked(key, info.retainUntil);
    try {
      // A versioned (lockable) bucket: remove the version itself, not hide it, so the space comes back.
      await this.client.send(
        new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectName(key), ...(this.lockMode && info.versionId ? { VersionId: info.versionId } : {}) }),
      );
      return true;
    } catch (e) {
      throw this.fail(e, 'delete', key);
    }
  }

  async touch(key: string): Promise<void> {
    const name = this.objectName(key);
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: name,
          CopySource: `${this.bucket}/${name}`,
          MetadataDirective: 'REPLACE',
          Metadata: { [MTIME_META]: String(Date.now()) },
        }),
      );
    } catch (e) {
      if (isMissing(e)) throw missing(key);
      throw this.fail(e, 'touch', key);
    }
  }

  async flush(): Promise<void> {
    // A PUT or DELETE is durable once S3 has answered it.
  }

  /** Aborts multipart uploads under the prefix that were started over a day ago (their writers are gone). */
  async sweepTemporaries(): Promise<number> {
    let swept = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    const cutoff = Date.now() - STALE_UPLOAD_MS;
    try {
      do {
        const page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: this.prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        );
        for (const u of page.Uploads ?? []) {
          if (!u.Key || !u.UploadId || (u.Initiated && u.Initiated.getTime() > cutoff)) continue;
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }));
          swept++;
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);
    } catch (e) {
      throw this.fail(e, 'sweep incomplete uploads in');
    }
    return swept;
  }

  /** Closes the client's sockets. */
  destroy(): void {
    this.client.destroy();
  }

  /** The error to throw for `e`: what the target said, in words that name the target and what to do. */
  private fail(e: unknown, op: string, key?: string): S3StoreError {
    if (e instanceof S3StoreError) return e;
    const what = `${op} ${key === undefined ? '' : `object ${JSON.stringify(key)} in `}${this.description}`;
    const { reason, detail } = classify(e);
    const text: Record<S3FailureReason, string> = {
      auth: `S3 target refused the credentials: could not ${what} (${detail}); check the access key and secret`,
      unavailable: `S3 target is unavailable: could not ${what} (${detail}); retry once the endpoint answers`,
      bucket: `S3 target has no such bucket: could not ${what} (${detail}); create bucket ${JSON.stringify(this.bucket)} or fix the target`,
      io: `S3 target failed: could not ${what} (${detail})`,
    };
    return new S3StoreError(reason, text[reason], e);
  }
}

function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function isMissing(e: unknown): boolean {
  const name = (e as { name?: string } | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || (httpStatus(e) === 404 && name !== 'NoSuchBucket');
}

function missing(key: string): ObjectStoreError {
  const err = new Error(`object ${JSON.stringify(key)} not found`) as ObjectStoreError;
  err.code = 'ENOENT';
  return err;
}

function locked(key: string, until: Date): ObjectStoreError {
  const err = new Error(`object ${JSON.stringify(key)} is locked (Object Lock) until ${until.toISOString()}`) as ObjectStoreError;
  err.code = 'ELOCKED';
  return err;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
const AUTH_NAMES = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken', 'CredentialsProviderError']);

function classify(e: unknown): { reason: S3FailureReason; detail: string } {
  const err = e as { name?: string; code?: string; message?: string } | null;
  const name = err?.name ?? 'Error';
  const status = httpStatus(e);
  const detail = [name, status === undefined ? undefined : `HTTP ${status}`, err?.code, err?.message && err.message !== name ? err.message : undefined]
    .filter(Boolean)
    .join(': ')
    .slice(0, 300);
  if (AUTH_NAMES.has(name) || status === 403 || status === 401) return { reason: 'auth', detail };
  if (name === 'NoSuchBucket') return { reason: 'bucket', detail };
  if (
    (err?.code && NETWORK_CODES.has(err.code)) ||
    NETWORK_CODES.has(name) ||
    name === 'TimeoutError' ||
    name === 'RequestTimeout' ||
    name === 'SlowDown' ||
    (status !== undefined && status >= 500)
  ) {
    return { reason: 'unavailable', detail };
  }
  return { reason: 'io', detail };
}

function mtimeOf(meta: Record<string, string> | undefined, lastModified: Date | undefined): Date {
  const ms = Number(meta?.[MTIME_META]);
  if (Number.isFinite(ms) && ms > 0) return new Date(ms);
  return lastModified ?? new Date(0);
}
