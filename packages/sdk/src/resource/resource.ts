/**
 * The base Resource: openstacksdk's component model in TypeScript.
 *
 * - `new()` builds a resource that does not exist server-side yet (every given field dirty);
 *   `existing()` mirrors server state (nothing dirty) — openstacksdk's `_synchronized`.
 * - Input accepts attribute names (`isForced`), their snake_case (`is_forced`) and wire names (`force`).
 * - Setting a field marks it dirty only when the value changes; `commit()` sends only dirty fields
 *   and makes no request when nothing changed.
 * - Unknown response keys are kept in {@link Resource.raw} instead of being dropped.
 * @packageDocumentation
 */
import {
  DuplicateResourceError,
  InvalidRequestError,
  isNotFound,
  MethodNotSupportedError,
  NotFoundError,
} from '../errors.js';
import type { ServiceClient, ServiceRequestOptions } from '../service/service-client.js';
import type { CallOptions, HttpMethod, HttpResponse, ResponseMetadata } from '../transport/types.js';
import { maxMicroversion } from '../util/microversion.js';
import { isRecord, looksLikeUuid } from '../util/objects.js';
import { BASE_FIELDS, decodeValue, type FieldDef, type FieldMap, snakeCase } from './field.js';
import { type ListOptions, Paginator, type PaginatorInit } from './pagination.js';
import { type QueryMap, splitQuery } from './query.js';

const STATE = Symbol('resource-state');
const INSTALLED = Symbol('resource-accessors');

interface State {
  body: Record<string, unknown>;
  dirty: Set<string>;
  client: ServiceClient | undefined;
  issues: string[];
}

/** Which generic operations a resource type allows. */
export interface Capabilities {
  create: boolean;
  fetch: boolean;
  commit: boolean;
  delete: boolean;
  list: boolean;
}

/** Construction options (internal; use `new()`/`existing()`). */
export interface ResourceInit {
  /** True when the attributes mirror server state (nothing dirty). */
  synchronized?: boolean;
  /** Client the resource is bound to, so its methods need no client argument. */
  client?: ServiceClient | undefined;
}

/** Options of a resource operation. */
export interface OperationOptions extends CallOptions {
  /** Client to use when the resource is not bound to one. */
  client?: ServiceClient | undefined;
  /** Path to use instead of the class's `basePath`. */
  basePath?: string | undefined;
  /** Send exactly this microversion. */
  microversion?: string | undefined;
}

/** Options of {@link Resource.find}. */
export interface FindOptions extends OperationOptions {
  /** Return undefined instead of throwing NotFoundError. Default false (openstacksdk 6.0 direction). */
  ignoreMissing?: boolean;
  /** Path to list when searching by name (e.g. `/snapshots/detail`). */
  listBasePath?: string | undefined;
  /** Extra list query (e.g. `{ allProjects: true }`). */
  query?: Record<string, unknown> | undefined;
}

/** Attributes every resource has. */
export interface BaseAttributes {
  /** Resource id. */
  id?: string;
  /** Resource name. */
  name?: string;
}

/** The attributes interface of a resource type. */
export type AttributesOf<R> = R extends Resource<infer A> ? A : never;

/** Input accepted by `new()`/`existing()`/updates: attribute names or wire names. */
export type ResourceInput<R> = Partial<AttributesOf<R>> & Record<string, unknown>;

/** A concrete resource class (constructor plus class-level knobs). */
export interface ResourceClass<R extends Resource = Resource> {
  new (attrs?: Record<string, unknown>, init?: ResourceInit): R;
  readonly fields: FieldMap;
  readonly resourceKey: string | undefined;
  readonly resourcesKey: string | undefined;
  readonly basePath: string;
  readonly queryParameters: QueryMap;
  readonly maxMicroversion: string | undefined;
  readonly allow: Capabilities;
  readonly commitMethod: HttpMethod;
  readonly allowEmptyCommit: boolean;
  readonly displayName: string;
  readonly opaqueIds: boolean;
}

interface NameIndex {
  byKey: Map<string, string>;
  /** Response key → its field, for the keys a server body uses (hydrating a response is the hot path). */
  byResponseKey: Map<string, FieldDef>;
  writeOnlyWires: string[];
}
const INDEX = new WeakMap<object, NameIndex>();

function nameIndex(cls: ResourceClass<Resource>): NameIndex {
  let idx = INDEX.get(cls);
  if (!idx) {
    const byKey = new Map<string, string>();
    const byResponseKey = new Map<string, FieldDef>();
    const writeOnlyWires: string[] = [];
    for (const [attr, def] of Object.entries(cls.fields)) {
      byKey.set(attr, attr);
      byKey.set(snakeCase(attr), attr);
      byKey.set(def.wire, attr);
      byKey.set(def.wire.toLowerCase(), attr);
      if (def.createWire) byKey.set(def.createWire, attr);
      if (def.writeOnly) writeOnlyWires.push(def.wire);
    }
    for (const [key, attr] of byKey) byResponseKey.set(key, cls.fields[attr] as FieldDef);
    idx = { byKey, byResponseKey, writeOnlyWires };
    INDEX.set(cls, idx);
  }
  return idx;
}

/** Whether `v` (not null) is already of the declared type, so decoding it cannot fail. */
function plainlyDecodes(type: FieldDef['type'], v: unknown): boolean {
  switch (type) {
    case undefined:
    case 'any':
      return true;
    case 'string':
      return typeof v === 'string';
    case 'integer':
    case 'number':
      return typeof v === 'number' && !Number.isNaN(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'object':
      return typeof v === 'object' && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    default:
      return false;
  }
}

function installAccessors(cls: ResourceClass<Resource>): void {
  const proto = cls.prototype as Record<PropertyKey, unknown>;
  if (Object.hasOwn(proto, INSTALLED)) return;
  for (const attr of Object.keys(cls.fields)) {
    Object.defineProperty(proto, attr, {
      configurable: true,
      enumerable: false,
      get(this: Resource) {
        return this.get(attr);
      },
      set(this: Resource, value: unknown) {
        this.set(attr, value);
      },
    });
  }
  Object.defineProperty(proto, INSTALLED, { value: true });
}

/**
 * Base class of every resource. Subclasses declare `static fields` and an attributes interface
 * merged into the class.
 *
 * @example
 * ```ts
 * const snap = Snapshot.new({ volumeId: vol.id, name: 'nightly', force: true });
 * snap.isForced; // true (wire name `force` accepted on input)
 * await snap.create({ client: conn.blockStorage.client });
 * snap.name = 'renamed';
 * snap.changes(); // { name: 'renamed' }
 * await snap.commit(); // PUT /snapshots/{id} {"snapshot": {"name": "renamed"}}
 * ```
 */
export class Resource<A extends object = BaseAttributes> {
  /** Field table: attribute name → definition. */
  static readonly fields: FieldMap = BASE_FIELDS;
  /** Envelope key of one resource (`snapshot`). */
  static readonly resourceKey: string | undefined = undefined;
  /** Envelope key of a list (`snapshots`). */
  static readonly resourcesKey: string | undefined = undefined;
  /** Collection path relative to the service endpoint. */
  static readonly basePath: string = '';
  /** Client → server query parameter names accepted by `list()`. */
  static readonly queryParameters: QueryMap = { limit: 'limit', marker: 'marker' };
  /** Highest microversion this resource understands (openstacksdk `_max_microversion`). */
  static readonly maxMicroversion: string | undefined = undefined;
  /** Allowed generic operations. */
  static readonly allow: Capabilities = { create: false, fetch: false, commit: false, delete: false, list: false };
  /** Method used by `commit()`. */
  static readonly commitMethod: HttpMethod = 'PUT';
  /** Whether `commit()` with nothing dirty still sends a request. */
  static readonly allowEmptyCommit: boolean = false;
  /** Name used in messages. */
  static readonly displayName: string = 'Resource';
  /** Ids are not UUID-shaped (Keystone's `default` domain): `find` always tries a GET by id first. */
  static readonly opaqueIds: boolean = false;

  /** Phantom for attribute type inference. @internal */
  declare readonly __attributes?: A;
  /** Microversion of the last response (from the echoed `OpenStack-API-Version`). */
  microversion: string | undefined;
  /** Metadata of the last response (status, request id, attempts). */
  $metadata: ResponseMetadata | undefined;
  /** @internal */
  declare readonly [STATE]: State;

  /** Prefer `new()` or `existing()`. */
  constructor(attrs: Record<string, unknown> = {}, init: ResourceInit = {}) {
    const cls = this.constructor as ResourceClass<Resource>;
    installAccessors(cls);
    Object.defineProperty(this, STATE, {
      value: { body: {}, dirty: new Set<string>(), client: init.client, issues: [] } satisfies State,
    });
    if (init.synchronized) this.applyServerBody(attrs);
    else this.update(attrs);
  }

  /**
   * A resource that does not exist on the server yet: every given field is dirty.
   *
   * @example
   * ```ts
   * const b = Backup.new({ volumeId: 'v1', isIncremental: true });
   * ```
   */
  static new<R extends Resource>(
    this: ResourceClass<R>,
    attrs: ResourceInput<R> = {} as ResourceInput<R>,
    client?: ServiceClient,
  ): R {
    return new this(attrs, { synchronized: false, client });
  }

  /**
   * A resource that mirrors server state (wire or attribute names; nothing dirty).
   *
   * @example
   * ```ts
   * const s = Snapshot.existing({ id: 'abc' }, conn.blockStorage.client);
   * await s.fetch();
   * ```
   */
  static existing<R extends Resource>(
    this: ResourceClass<R>,
    attrs: ResourceInput<R> = {} as ResourceInput<R>,
    client?: ServiceClient,
  ): R {
    return new this(attrs, { synchronized: true, client });
  }

  /** The class of this instance. @internal */
  protected get cls(): ResourceClass<this> {
    return this.constructor as unknown as ResourceClass<this>;
  }

  /** The bound client, if any. */
  get client(): ServiceClient | undefined {
    return this[STATE].client;
  }

  /** Binds the resource to a client (returns this). @example `snap.bind(conn.blockStorage.client)` */
  bind(client: ServiceClient): this {
    this[STATE].client = client;
    return this;
  }

  /** Resolves an attribute, snake_case or wire name to the attribute name. */
  static resolveName(this: ResourceClass<Resource>, key: string): string | undefined {
    const idx = nameIndex(this);
    return idx.byKey.get(key) ?? idx.byKey.get(key.toLowerCase());
  }

  #def(attr: string): FieldDef | undefined {
    return this.cls.fields[attr];
  }

  /** Reads a field by attribute or wire name (decoded). */
  get(name: string): unknown {
    const attr = (this.cls as unknown as typeof Resource).resolveName.call(this.cls, name) ?? name;
    const def = this.#def(attr);
    if (!def) return this[STATE].body[name];
    const decoded = decodeValue(def, this[STATE].body[def.wire]);
    if (!decoded.ok) return undefined;
    return def.codec && decoded.value !== undefined ? def.codec.decode(decoded.value) : decoded.value;
  }

  /** Sets a field by attribute or wire name; marks it dirty only when the value changes. */
  set(name: string, value: unknown): void {
    const attr = (this.cls as unknown as typeof Resource).resolveName.call(this.cls, name);
    if (attr === undefined) throw new InvalidRequestError(`${this.cls.displayName} has no attribute ${name}`);
    const def = this.#def(attr) as FieldDef;
    const state = this[STATE];
    if (def.codec && value !== undefined && value !== null) value = def.codec.encode(value);
    if (!sameValue(state.body[def.wire], value)) {
      state.body[def.wire] = value;
      state.dirty.add(def.wire);
    }
  }

  /**
   * Sets several fields (attribute or wire names). Unknown names throw {@link InvalidRequestError}.
   *
   * @example
   * ```ts
   * snap.update({ name: 'a', description: 'b' });
   * ```
   */
  update(attrs: Record<string, unknown>): this {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined) continue;
      this.set(k, v);
    }
    return this;
  }

  /** Merges a server body (wire names; unknown keys kept) and clears the dirty set. @internal */
  applyServerBody(body: Record<string, unknown>): void {
    const state = this[STATE];
    const idx = nameIndex(this.cls);
    for (const k in body) {
      if (k === 'self' || !Object.hasOwn(body, k)) continue;
      const v = body[k];
      const def = idx.byResponseKey.get(k) ?? idx.byResponseKey.get(k.toLowerCase());
      if (def === undefined) {
        state.body[k] = v;
        continue;
      }
      state.body[def.wire] = v;
      // null/undefined, untyped fields and values already of the declared JSON type always decode: only the rest
      // go through decodeValue (which allocates its result).
      if (v !== null && v !== undefined && !plainlyDecodes(def.type, v) && !decodeValue(def, v).ok) {
        const attr = idx.byKey.get(k) ?? idx.byKey.get(k.toLowerCase());
        state.issues.push(`${attr}: cannot decode ${JSON.stringify(v)} as ${def.type}`);
      }
    }
    if (state.dirty.size > 0) state.dirty.clear();
  }

  /** Applies a response: unwraps the envelope, merges, clears dirty, records metadata. @internal */
  applyResponse(res: HttpResponse, responseKey: string | undefined = this.cls.resourceKey): this {
    this.$metadata = res.$metadata;
    const echoed = res.$metadata.microversion?.split(/\s+/).pop();
    if (echoed) this.microversion = echoed;
    let body = res.body;
    if (responseKey && isRecord(body) && isRecord(body[responseKey])) body = body[responseKey];
    for (const wire of nameIndex(this.cls).writeOnlyWires) delete this[STATE].body[wire];
    if (isRecord(body)) this.applyServerBody(body);
    else this[STATE].dirty.clear();
    return this;
  }

  /** Wire keys changed since the last synchronisation, with their values. */
  changes(): Record<string, unknown> {
    const state = this[STATE];
    const out: Record<string, unknown> = {};
    for (const wire of state.dirty) out[wire] = state.body[wire];
    return out;
  }

  /** Whether `commit()` would send anything. */
  get isDirty(): boolean {
    return this[STATE].dirty.size > 0 || this.cls.allowEmptyCommit;
  }

  /** The last known server body, including keys the SDK does not model. */
  get raw(): Record<string, unknown> {
    return { ...this[STATE].body };
  }

  /** Values that could not be decoded to their declared type (kept raw in {@link raw}). */
  get decodeIssues(): readonly string[] {
    return this[STATE].issues;
  }

  /**
   * Plain object of the known attributes (attribute names; `wireNames: true` for server names).
   *
   * @example
   * ```ts
   * snap.toDict(); // { id: '…', name: '…', isForced: false, … }
   * ```
   */
  toDict(options: { wireNames?: boolean; includeUndefined?: boolean } = {}): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [attr, def] of Object.entries(this.cls.fields)) {
      const value = this.get(attr);
      if (value === undefined && !options.includeUndefined) continue;
      out[options.wireNames ? def.wire : attr] = value;
    }
    return out;
  }

  /** JSON form (attribute names). */
  toJSON(): Record<string, unknown> {
    return this.toDict();
  }

  /** @internal */
  protected requireClient(options: OperationOptions): ServiceClient {
    const client = options.client ?? this.client;
    if (!client) throw new InvalidRequestError(`${this.cls.displayName} is not bound to a client; pass { client }`);
    if (!this.client) this.bind(client);
    return client;
  }

  /** @internal */
  protected requireId(): string {
    const id = this.get('id');
    if (typeof id !== 'string' || id === '') throw new InvalidRequestError(`${this.cls.displayName} has no id`);
    return id;
  }

  /** @internal */
  protected assertAllowed(op: keyof Capabilities): void {
    if (!this.cls.allow[op]) throw new MethodNotSupportedError(this.cls.displayName, op);
  }

  /** Highest `minMicroversion` among the dirty fields being sent. @internal */
  protected requiredMicroversion(wires: Iterable<string>): string | undefined {
    let need: string | undefined;
    for (const wire of wires) {
      const attr = (this.cls as unknown as typeof Resource).resolveName.call(this.cls, wire);
      const def = attr === undefined ? undefined : this.#def(attr);
      if (def?.minMicroversion) need = need ? maxMicroversion(need, def.minMicroversion) : def.minMicroversion;
    }
    return need;
  }

  /** @internal */
  protected envelope(payload: Record<string, unknown>): Record<string, unknown> {
    const key = this.cls.resourceKey;
    return key ? { [key]: payload } : payload;
  }

  /**
   * Sends a request for this resource with the class's microversion cap. @internal
   */
  protected async send(
    method: HttpMethod,
    path: string,
    options: OperationOptions & Omit<ServiceRequestOptions, keyof CallOptions>,
  ): Promise<HttpResponse> {
    const client = this.requireClient(options);
    const { client: _c, basePath: _b, ...rest } = options;
    return client.request(method, path, { maxMicroversion: this.cls.maxMicroversion, ...rest });
  }

  /** `basePath/<id>`. @internal */
  protected itemPath(options: OperationOptions = {}): string {
    return `${options.basePath ?? this.cls.basePath}/${encodeURIComponent(this.requireId())}`;
  }

  /**
   * POST the dirty fields to the collection (`{resourceKey: {...}}`) and merge the response.
   *
   * @example
   * ```ts
   * const s = await Snapshot.new({ volumeId }).create({ client });
   * ```
   */
  async create(options: OperationOptions = {}): Promise<this> {
    this.assertAllowed('create');
    const changes = this.changes();
    const payload: Record<string, unknown> = {};
    for (const [wire, value] of Object.entries(changes)) {
      const attr = (this.cls as unknown as typeof Resource).resolveName.call(this.cls, wire);
      const def = attr === undefined ? undefined : this.#def(attr);
      if (def?.readOnly && wire !== 'id') continue;
      payload[def?.createWire ?? wire] = value;
    }
    const res = await this.send('POST', options.basePath ?? this.cls.basePath, {
      ...options,
      body: this.envelope(payload),
      minMicroversion: this.requiredMicroversion(Object.keys(changes)),
      operation: `create ${this.cls.displayName}`,
    });
    return this.applyResponse(res);
  }

  /**
   * GET the resource by id and merge the server state.
   *
   * @example
   * ```ts
   * await snap.fetch(); snap.status;
   * ```
   */
  async fetch(options: OperationOptions = {}): Promise<this> {
    this.assertAllowed('fetch');
    const res = await this.send('GET', this.itemPath(options), {
      ...options,
      operation: `get ${this.cls.displayName}`,
    });
    return this.applyResponse(res);
  }

  /**
   * Sends only the changed fields (`PUT <path>/<id> {resourceKey: {dirty}}`); no request when nothing changed.
   *
   * @example
   * ```ts
   * snap.description = 'x'; await snap.commit();
   * ```
   */
  async commit(options: OperationOptions & { minMicroversion?: string } = {}): Promise<this> {
    this.assertAllowed('commit');
    const changes = this.changes();
    delete changes.id;
    if (Object.keys(changes).length === 0 && !this.cls.allowEmptyCommit) return this;
    const fieldMin = this.requiredMicroversion(Object.keys(changes));
    const min =
      fieldMin && options.minMicroversion
        ? maxMicroversion(fieldMin, options.minMicroversion)
        : (fieldMin ?? options.minMicroversion);
    const res = await this.send(this.cls.commitMethod, this.itemPath(options), {
      ...options,
      body: this.envelope(changes),
      minMicroversion: min,
      operation: `update ${this.cls.displayName}`,
    });
    return this.applyResponse(res);
  }

  /**
   * DELETE the resource.
   *
   * @example
   * ```ts
   * await snap.delete();
   * ```
   */
  async delete(options: OperationOptions & { query?: Record<string, string | boolean> } = {}): Promise<this> {
    this.assertAllowed('delete');
    const res = await this.send('DELETE', this.itemPath(options), {
      ...options,
      operation: `delete ${this.cls.displayName}`,
    });
    this.$metadata = res.$metadata;
    return this;
  }

  /**
   * POSTs `{action: payload}` to `<path>/<id>/action` (Cinder actions such as `os-reset_status`).
   *
   * @example
   * ```ts
   * await snap.action('os-force_delete', null);
   * ```
   */
  async action(
    name: string,
    payload: unknown,
    options: OperationOptions & { minMicroversion?: string; idempotent?: boolean } = {},
  ): Promise<HttpResponse> {
    const { idempotent, ...rest } = options;
    const res = await this.send('POST', `${this.itemPath(options)}/action`, {
      ...rest,
      body: { [name]: payload },
      operation: `${this.cls.displayName} ${name}`,
      ...(idempotent ? { retry: { ...(options.retry || {}), idempotent: true } } : {}),
    });
    this.$metadata = res.$metadata;
    return res;
  }

  /**
   * Lists resources as an async iterable following `*_links` (marker fallback), with client-side
   * filtering for attributes the server cannot filter.
   *
   * @example
   * ```ts
   * for await (const s of Snapshot.list(client, { status: 'available', limit: 50 })) console.log(s.id);
   * ```
   */
  static list<R extends Resource>(
    this: ResourceClass<R>,
    client: ServiceClient,
    query: Record<string, unknown> = {},
    options: ListOptions & { basePath?: string; prepare?: PaginatorInit<R>['prepare'] } = {},
  ): Paginator<R> {
    return listOf(this, client, query, options);
  }

  /**
   * Finds by id or name: a GET by id when the value looks like a UUID (only a 404 falls through), then
   * a list filtered by `name` server-side. Two matches raise {@link DuplicateResourceError}; none raises
   * {@link NotFoundError} unless `ignoreMissing`.
   *
   * @example
   * ```ts
   * const s = await Snapshot.find(client, 'nightly', { listBasePath: '/snapshots/detail' });
   * ```
   */
  static async find<R extends Resource>(
    this: ResourceClass<R>,
    client: ServiceClient,
    nameOrId: string,
    options: FindOptions = {},
  ): Promise<R | undefined> {
    if (this.allow.fetch && (this.opaqueIds || looksLikeUuid(nameOrId))) {
      try {
        return await new this({ id: nameOrId }, { synchronized: true, client }).fetch(options);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    const query: Record<string, unknown> = { ...(options.query ?? {}) };
    const byName = Object.values(this.queryParameters).includes('name') && query.name === undefined;
    if (byName) query.name = nameOrId;
    const found: R[] = [];
    const listOpts: ListOptions & { basePath?: string } = {
      signal: options.signal,
      timeoutMs: options.timeoutMs,
      ...(options.listBasePath ? { basePath: options.listBasePath } : {}),
    };
    for await (const item of listOf(this, client, query, listOpts)) {
      if (item.get('id') === nameOrId || item.get('name') === nameOrId) {
        found.push(item);
        if (found.length > 1) {
          throw new DuplicateResourceError(`more than one ${this.displayName} matches ${nameOrId}`);
        }
      }
    }
    if (found[0]) return found[0];
    if (options.ignoreMissing) return undefined;
    throw new NotFoundError(
      { status: 404, method: 'GET', url: options.listBasePath ?? this.basePath, fault: 'itemNotFound' },
      `No ${this.displayName} found for ${nameOrId}`,
    );
  }
}

function listOf<R extends Resource>(
  cls: ResourceClass<R>,
  client: ServiceClient,
  query: Record<string, unknown>,
  options: ListOptions & { basePath?: string; prepare?: PaginatorInit<R>['prepare'] },
): Paginator<R> {
  if (!cls.allow.list) throw new MethodNotSupportedError(cls.displayName, 'list');
  const { server, clientFilters } = splitQuery(cls, query);
  return new Paginator<R>({
    client,
    path: options.basePath ?? cls.basePath,
    resourcesKey: cls.resourcesKey,
    query: server,
    options: { ...options, maxMicroversion: cls.maxMicroversion },
    build: (item) => new cls(item, { synchronized: true, client }),
    prepare: options.prepare,
    filter:
      Object.keys(clientFilters).length === 0
        ? undefined
        : (r) => Object.entries(clientFilters).every(([attr, v]) => matches(r.get(attr), v)),
  });
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null) {
    return JSON.stringify(a) === JSON.stringify(b);
  }
  return false;
}

function matches(actual: unknown, expected: unknown): boolean {
  if (isRecord(expected) && isRecord(actual)) {
    return Object.entries(expected).every(([k, v]) => matches(actual[k], v));
  }
  if (typeof actual === 'string' && typeof expected === 'string') return actual === expected;
  return sameValue(actual, expected);
}
