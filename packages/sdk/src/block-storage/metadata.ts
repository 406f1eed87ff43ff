/**
 * The metadata sub-resource of snapshots and volumes (`/{collection}/{id}/metadata`).
 * @packageDocumentation
 */
import { isNotFound } from '../errors.js';
import type { ServiceClient } from '../service/service-client.js';
import type { CallOptions } from '../transport/types.js';
import { isRecord } from '../util/objects.js';

/** Metadata map. */
export type Metadata = Record<string, string>;

function readMap(body: unknown, key: string): Metadata {
  const m = isRecord(body) && isRecord(body[key]) ? body[key] : {};
  const out: Metadata = {};
  for (const [k, v] of Object.entries(m)) out[k] = String(v);
  return out;
}

/**
 * Metadata operations with explicit semantics: `merge` (POST), `replace` (PUT), per-key get/set/delete,
 * and `deleteKeys` (per-key DELETEs, or an atomic read-modify-PUT). Results come from the server's
 * response, not from what was sent.
 *
 * @example
 * ```ts
 * const md = new MetadataClient(client, '/snapshots', 3.65);
 * await md.merge(id, { tier: 'gold' });
 * ```
 */
export class MetadataClient {
  constructor(
    readonly client: ServiceClient,
    readonly basePath: string,
    readonly maxMicroversion?: string,
  ) {}

  #path(id: string, key?: string): string {
    return `${this.basePath}/${encodeURIComponent(id)}/metadata${key === undefined ? '' : `/${encodeURIComponent(key)}`}`;
  }

  /** GET the whole map. */
  async get(id: string, options: CallOptions = {}): Promise<Metadata> {
    const res = await this.client.request('GET', this.#path(id), { ...options, maxMicroversion: this.maxMicroversion });
    return readMap(res.body, 'metadata');
  }

  /** POST: adds/overwrites the given keys, keeps the others; returns the merged map. */
  async merge(id: string, metadata: Metadata, options: CallOptions = {}): Promise<Metadata> {
    const res = await this.client.request('POST', this.#path(id), {
      ...options,
      body: { metadata },
      maxMicroversion: this.maxMicroversion,
      retry: options.retry === false ? false : { idempotent: true, ...(options.retry ?? {}) },
    });
    return readMap(res.body, 'metadata');
  }

  /** PUT: the map becomes exactly `metadata`. */
  async replace(id: string, metadata: Metadata, options: CallOptions = {}): Promise<Metadata> {
    const res = await this.client.request('PUT', this.#path(id), {
      ...options,
      body: { metadata },
      maxMicroversion: this.maxMicroversion,
    });
    return readMap(res.body, 'metadata');
  }

  /** GET one key (404 when missing). */
  async getItem(id: string, key: string, options: CallOptions = {}): Promise<string> {
    const res = await this.client.request('GET', this.#path(id, key), {
      ...options,
      maxMicroversion: this.maxMicroversion,
    });
    const meta = readMap(res.body, 'meta');
    return meta[key] ?? '';
  }

  /** PUT one key. */
  async setItem(id: string, key: string, value: string, options: CallOptions = {}): Promise<Metadata> {
    const res = await this.client.request('PUT', this.#path(id, key), {
      ...options,
      body: { meta: { [key]: value } },
      maxMicroversion: this.maxMicroversion,
    });
    return readMap(res.body, 'meta');
  }

  /**
   * Deletes keys. Without `keys`, clears everything (PUT `{}`). With `atomic`, reads the map and PUTs it
   * without the keys (one write); otherwise one DELETE per key, ignoring keys already missing unless
   * `ignoreMissing` is false.
   */
  async deleteKeys(
    id: string,
    keys?: readonly string[],
    options: CallOptions & { atomic?: boolean; ignoreMissing?: boolean } = {},
  ): Promise<void> {
    const { atomic, ignoreMissing = true, ...call } = options;
    if (keys === undefined) {
      await this.replace(id, {}, call);
      return;
    }
    if (atomic) {
      const current = await this.get(id, call);
      for (const k of keys) delete current[k];
      await this.replace(id, current, call);
      return;
    }
    for (const key of keys) {
      try {
        await this.client.request('DELETE', this.#path(id, key), { ...call, maxMicroversion: this.maxMicroversion });
      } catch (e) {
        if (!(ignoreMissing && isNotFound(e))) throw e;
      }
    }
  }
}
