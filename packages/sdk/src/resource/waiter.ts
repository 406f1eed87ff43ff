/**
 * Waiters: poll a resource until a status, a failure status, deletion, a timeout or an abort.
 * @packageDocumentation
 */
import { isNotFound, ResourceFailureError, ResourceTimeoutError } from '../errors.js';
import { sleep as realSleep, type Sleep } from '../util/abort.js';
import { parseProgress } from './field.js';
import type { OperationOptions, Resource } from './resource.js';

/** How a wait ended. */
export type WaitState = 'success' | 'failure' | 'timeout' | 'aborted';

/**
 * Result of a waiter.
 *
 * @example
 * ```ts
 * const r = await bs.waitForStatus(snap, { status: 'available' });
 * if (r.state !== 'success') throw new Error(`snapshot ${r.state}: ${r.status}`);
 * ```
 */
export interface WaitResult<R> {
  state: WaitState;
  /** The resource as last seen. */
  resource: R;
  /** Polls made. */
  attempts: number;
  /** Last status seen. */
  status: string | undefined;
  elapsedMs: number;
}

/** Options shared by waiters. */
export interface WaitOptions extends Pick<OperationOptions, 'client' | 'signal' | 'timeoutMs'> {
  /** Give up after this long. Default 15 minutes (always finite). */
  waitTimeoutMs?: number;
  /** First delay between polls. Default 1 s. */
  minDelayMs?: number;
  /** Largest delay between polls (exponential growth, full jitter). Default 15 s. */
  maxDelayMs?: number;
  /** Called after each poll with the numeric progress (`"45%"` → 45) when the resource reports one. */
  onProgress?: (progress: number | undefined, resource: Resource) => void;
  /** Throw ResourceFailureError / ResourceTimeoutError instead of returning a non-success result. */
  throwOnFailure?: boolean;
  /** Injected clock and sleep (tests). */
  now?: () => number;
  sleep?: Sleep;
  random?: () => number;
}

/** Options of {@link waitForStatus}. */
export interface WaitForStatusOptions extends WaitOptions {
  /** Target status (case-insensitive). Default `available`. */
  status?: string;
  /** Failure statuses (case-insensitive). Default `['error']`. */
  failures?: readonly string[];
  /** Attribute holding the status. Default `status`. */
  attribute?: string;
}

const DEFAULT_WAIT_MS = 15 * 60_000;

function delayFor(attempt: number, opts: WaitOptions): number {
  const min = opts.minDelayMs ?? 1000;
  const max = opts.maxDelayMs ?? 15_000;
  const ceiling = Math.min(max, min * 2 ** attempt);
  const random = opts.random ?? Math.random;
  return Math.max(min, Math.floor(min + random() * (ceiling - min)));
}

function progressOf(resource: Resource): number | undefined {
  return parseProgress(resource.get('progress'));
}

async function poll<R extends Resource>(
  resource: R,
  opts: WaitOptions,
  check: () => Promise<{ done: WaitState | undefined; status: string | undefined }>,
  describe: string,
): Promise<WaitResult<R>> {
  const now = opts.now ?? Date.now;
  const wait = opts.sleep ?? realSleep;
  const start = now();
  const limit = opts.waitTimeoutMs ?? DEFAULT_WAIT_MS;
  let attempts = 0;
  let status: string | undefined;
  const finish = (state: WaitState): WaitResult<R> => {
    const result = { state, resource, attempts, status, elapsedMs: now() - start };
    if (opts.throwOnFailure && state === 'failure') {
      throw new ResourceFailureError(`${describe}: reached failure status ${status}`, status ?? '');
    }
    if (opts.throwOnFailure && state === 'timeout') {
      throw new ResourceTimeoutError(`${describe}: timed out after ${limit} ms (last status ${status})`);
    }
    return result;
  };
  for (;;) {
    if (opts.signal?.aborted) return finish('aborted');
    attempts++;
    let r: { done: WaitState | undefined; status: string | undefined };
    try {
      r = await check();
    } catch (e) {
      // An abort that lands during a poll is the caller's decision, not a failure of the wait.
      if (opts.signal?.aborted) return finish('aborted');
      throw e;
    }
    status = r.status;
    if (r.done) return finish(r.done);
    opts.onProgress?.(progressOf(resource), resource);
    const elapsed = now() - start;
    if (elapsed >= limit) return finish('timeout');
    try {
      await wait(Math.min(delayFor(attempts - 1, opts), limit - elapsed), opts.signal);
    } catch {
      return finish('aborted');
    }
  }
}

/**
 * Polls `resource.fetch()` until `attribute` equals `status`, a failure status is reached, the
 * (finite) time limit passes or the signal aborts. Returns immediately when the current value
 * already matches (openstacksdk behaviour).
 *
 * @example
 * ```ts
 * const r = await waitForStatus(snap, { status: 'available', failures: ['error'], onProgress: (p) => console.log(p) });
 * ```
 */
export async function waitForStatus<R extends Resource>(
  resource: R,
  opts: WaitForStatusOptions = {},
): Promise<WaitResult<R>> {
  const target = (opts.status ?? 'available').toLowerCase();
  const failures = (opts.failures ?? ['error']).map((f) => f.toLowerCase());
  const attribute = opts.attribute ?? 'status';
  const current = () => {
    const v = resource.get(attribute);
    return typeof v === 'string' ? v : undefined;
  };
  let first = true;
  return poll(
    resource,
    opts,
    async () => {
      if (!(first && current()?.toLowerCase() === target)) {
        await resource.fetch({ client: opts.client, signal: opts.signal, timeoutMs: opts.timeoutMs });
      }
      first = false;
      const s = current();
      const lower = s?.toLowerCase();
      if (lower === target) return { done: 'success', status: s };
      if (lower !== undefined && failures.includes(lower)) return { done: 'failure', status: s };
      return { done: undefined, status: s };
    },
    `waiting for ${String(resource.get('id'))} to become ${target}`,
  );
}

/**
 * Polls until the resource is gone (404) or reports status `deleted`; failure statuses
 * (default `error_deleting`) end the wait.
 *
 * @example
 * ```ts
 * await waitForDelete(snap, { waitTimeoutMs: 120_000 });
 * ```
 */
export async function waitForDelete<R extends Resource>(
  resource: R,
  opts: WaitOptions & { failures?: readonly string[] } = {},
): Promise<WaitResult<R>> {
  const failures = (opts.failures ?? ['error_deleting']).map((f) => f.toLowerCase());
  return poll(
    resource,
    opts,
    async () => {
      try {
        await resource.fetch({ client: opts.client, signal: opts.signal, timeoutMs: opts.timeoutMs });
      } catch (e) {
        if (isNotFound(e)) return { done: 'success', status: 'deleted' };
        throw e;
      }
      const s = resource.get('status');
      const status = typeof s === 'string' ? s : undefined;
      if (status?.toLowerCase() === 'deleted') return { done: 'success', status };
      if (status && failures.includes(status.toLowerCase())) return { done: 'failure', status };
      return { done: undefined, status };
    },
    `waiting for ${String(resource.get('id'))} to be deleted`,
  );
}
