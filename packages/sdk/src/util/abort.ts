/**
 * Cancellable sleeping and signal helpers.
 * @packageDocumentation
 */
import { AbortError } from '../errors.js';

/** A sleep function; injectable so tests run without real delays. @example `const sleep: Sleep = async () => {}` */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * Resolves after `ms` milliseconds; rejects with {@link AbortError} when `signal` fires.
 *
 * @example
 * ```ts
 * await sleep(100, AbortSignal.timeout(1000));
 * ```
 */
export const sleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError(undefined, { cause: signal.reason }));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortError(undefined, { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Throws {@link AbortError} if the signal has fired.
 *
 * @example
 * ```ts
 * throwIfAborted(options.signal);
 * ```
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
}
