/**
 * A light `Headers` for the pipeline's JSON path.
 * @packageDocumentation
 */

// RFC 9110 token characters for names; values may hold anything but CR, LF and NUL (what WHATWG Headers and
// undici reject: a header injection).
const NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[\r\n\0]/;

type KeysIterator = ReturnType<Headers['keys']>;
type EntriesIterator = ReturnType<Headers['entries']>;

// Names already checked, as given → lower-cased: the pipeline sets the same few on every call. Bounded, since
// callers may pass names of their own.
const CHECKED = new Map<string, string>();

function checkName(name: string): string {
  const known = CHECKED.get(name);
  if (known !== undefined) return known;
  if (!NAME.test(name)) throw new TypeError(`invalid header name: ${JSON.stringify(name)}`);
  const key = name.toLowerCase();
  if (CHECKED.size < 256) CHECKED.set(name, key);
  return key;
}

function normalizeValue(name: string, value: string): string {
  const v = String(value).trim();
  if (BAD_VALUE.test(v)) throw new TypeError(`invalid value for header ${name}`);
  return v;
}

/**
 * A `Headers` with the same methods and lower-cased names, kept in a plain `Map`. The SDK builds one or two per
 * call; Node's WHATWG `Headers` runs its WebIDL conversions and sorting in JavaScript on every operation, which
 * costs more than the rest of a call's preparation while the process is young (before the JIT has optimised it)
 * and still several microseconds after. Anything that takes a `HeadersInit` (`new Headers(h)`, fetch) accepts
 * it, since it iterates as name/value pairs. Iteration is in insertion order (WHATWG sorts by name).
 *
 * @example
 * ```ts
 * const h = new HeaderMap({ Accept: 'application/json' });
 * h.get('accept'); // 'application/json'
 * ```
 */
export class HeaderMap implements Headers {
  #map: Map<string, string>;

  constructor(init?: ConstructorParameters<typeof Headers>[0] | HeaderMap | null) {
    if (init instanceof HeaderMap) {
      this.#map = new Map(init.#map);
      return;
    }
    this.#map = new Map();
    if (init === undefined || init === null) return;
    if (typeof (init as Iterable<unknown>)[Symbol.iterator] === 'function') {
      for (const pair of init as Iterable<[string, string]>) {
        if (pair.length !== 2) throw new TypeError('a header init pair needs a name and a value');
        this.append(pair[0], pair[1]);
      }
    } else {
      for (const name of Object.keys(init)) this.append(name, (init as Record<string, string>)[name]!);
    }
  }

  /**
   * Wraps a map of already lower-cased, already valid names (a response's headers as the transport parsed them).
   * @internal
   */
  static fromTrusted(map: Map<string, string>): HeaderMap {
    const h = new HeaderMap();
    h.#map = map;
    return h;
  }

  append(name: string, value: string): void {
    const key = checkName(name);
    const v = normalizeValue(key, value);
    const prev = this.#map.get(key);
    this.#map.set(key, prev === undefined ? v : `${prev}, ${v}`);
  }

  delete(name: string): void {
    this.#map.delete(name.toLowerCase());
  }

  get(name: string): string | null {
    const v = this.#map.get(name);
    if (v !== undefined) return v;
    return this.#map.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.#map.has(name) || this.#map.has(name.toLowerCase());
  }

  set(name: string, value: string): void {
    const key = checkName(name);
    this.#map.set(key, normalizeValue(key, value));
  }

  getSetCookie(): string[] {
    const v = this.#map.get('set-cookie');
    return v === undefined ? [] : v.split(/,\s*(?=[^;,=\s]+=)/);
  }

  forEach(callbackfn: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [k, v] of this.#map) callbackfn.call(thisArg, v, k, this);
  }

  keys(): KeysIterator {
    return this.#map.keys();
  }

  values(): KeysIterator {
    return this.#map.values();
  }

  entries(): EntriesIterator {
    return this.#map.entries();
  }

  [Symbol.iterator](): EntriesIterator {
    return this.#map.entries();
  }

  /** The headers as a plain object (what undici's `dispatch` takes). @internal */
  toObject(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.#map) out[k] = v;
    return out;
  }

  get [Symbol.toStringTag](): string {
    return 'Headers';
  }
}
