/**
 * The list/get/find/create/update/delete calls that every service proxy makes for its resource types, once.
 * @packageDocumentation
 */
import { isNotFound } from '../errors.js';
import type { ServiceClient } from '../service/service-client.js';
import type { CallOptions } from '../transport/types.js';
import type { ListOptions, Paginator } from './pagination.js';
import { type FindOptions, Resource, type ResourceClass, type ResourceInput } from './resource.js';

/** A resource or its id, as proxy methods take it. @example `const r: Ref<Vault> = 'b1a5…'` */
export type Ref<R> = R | string;

/** Delete options: `ignoreMissing` turns a 404 into success. @example `{ ignoreMissing: true }` */
export interface IgnoreMissingOptions extends CallOptions {
  /** Do not fail on 404. Default false. */
  ignoreMissing?: boolean;
}

/** A resource class with the static operations of {@link Resource}. */
export type CrudClass<R extends Resource> = ResourceClass<R> & Pick<typeof Resource, 'list' | 'find'>;

/**
 * A resource (or a bare id) bound to `client`: ids become synchronized references, and a resource obtained through
 * another connection is rebound (the proxy's connection is the one that acts, as openstacksdk passes its session).
 *
 * @example
 * ```ts
 * const v = refTo(Vault, 'b1a5…', conn.cbr.client);
 * ```
 */
export function refTo<R extends Resource>(cls: ResourceClass<R>, value: Ref<R>, client: ServiceClient): R {
  if (typeof value === 'string') return new cls({ id: value }, { synchronized: true, client });
  if (value.client !== client) value.bind(client);
  return value;
}

/**
 * The URL-encoded id of a resource or id; a TypeError names `what` when there is none.
 *
 * @example
 * ```ts
 * `/vaults/${pathId(vault, 'vault')}/addresources`
 * ```
 */
export function pathId(value: Ref<{ id?: string }> | undefined, what: string): string {
  const id = typeof value === 'string' ? value : value?.id;
  if (!id) throw new TypeError(`${what} id missing`);
  return encodeURIComponent(id);
}

/**
 * Deletes `resource`; with `ignoreMissing` a 404 counts as deleted.
 *
 * @example
 * ```ts
 * await deleteResource(refTo(Vault, id, client), { ignoreMissing: true });
 * ```
 */
export async function deleteResource(
  resource: Resource,
  options: IgnoreMissingOptions & { basePath?: string | undefined } = {},
): Promise<void> {
  const { ignoreMissing, ...call } = options;
  try {
    await resource.delete(call);
  } catch (e) {
    if (!(ignoreMissing && isNotFound(e))) throw e;
  }
}

/**
 * The CRUD calls of one resource type through one client. Proxies keep their named, documented methods
 * (`getVault`, `deleteProject`, …) and delegate here.
 *
 * @example
 * ```ts
 * const vaults = new Crud(Vault, client);
 * const v = await vaults.update('b1a5…', { name: 'renamed' });
 * ```
 */
export class Crud<R extends Resource> {
  readonly #cls: CrudClass<R>;
  readonly #client: ServiceClient;

  constructor(cls: CrudClass<R>, client: ServiceClient) {
    this.#cls = cls;
    this.#client = client;
  }

  /** A reference bound to this client (see {@link refTo}). */
  ref(value: Ref<R>): R {
    return refTo(this.#cls, value, this.#client);
  }

  /** Lists (async pagination). */
  list(query: ResourceInput<R> = {} as ResourceInput<R>, options: ListOptions = {}): Paginator<R> {
    return this.#cls.list(this.#client, query as Record<string, unknown>, options);
  }

  /** GET by id. */
  get(value: Ref<R>, options: CallOptions = {}): Promise<R> {
    return this.ref(value).fetch(options);
  }

  /** Finds by id or name. */
  find(nameOrId: string, options: FindOptions = {}): Promise<R | undefined> {
    return this.#cls.find(this.#client, nameOrId, options);
  }

  /** Creates from attributes. */
  create(attrs: ResourceInput<R>, options: CallOptions = {}): Promise<R> {
    return new this.#cls(attrs as Record<string, unknown>, { synchronized: false, client: this.#client }).create(options);
  }

  /** Sends the changed attributes. */
  update(value: Ref<R>, attrs: ResourceInput<R>, options: CallOptions = {}): Promise<R> {
    return this.ref(value).update(attrs).commit(options);
  }

  /** Deletes (see {@link deleteResource}). */
  delete(value: Ref<R>, options: IgnoreMissingOptions = {}): Promise<void> {
    return deleteResource(this.ref(value), options);
  }
}
