/**
 * Keys that come from clients (metadata keys, filters, sort keys) may be the names of Object.prototype's
 * members (`__proto__`, `constructor`, `toString`). Plain `obj[key]` would find the inherited member, and
 * `obj[key] = v` with `__proto__` would set the prototype instead of storing the key; these never do.
 */
export function getOwn<T>(obj: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
