import { DomainError, type ErrorKind } from '../../domain/errors.js';
import { fromStatuses, type Lifecycle, refusal } from '../../domain/lifecycle.js';
import type { Transition } from '../../domain/ports/cbr-store.js';

/** A CBR error: `code` is the number of `BackupService.NNNN` from the spec's code table. */
export function cbrError(kind: ErrorKind, code: string, message: string): DomainError {
  return new DomainError(kind, message, { code: `BackupService.${code}` });
}

export const invalid = (message: string) => cbrError('badRequest', '9900', message);
export const refused = (code: string, message: string) => cbrError('badRequest', code, message);
export const missing = (code: string, message: string) => cbrError('notFound', code, message);

export const vaultNotFound = (id: string) => missing('6105', `Vault ${id} does not exist.`);
export const policyNotFound = (id: string) => missing('6000', `Policy ${id} does not exist.`);
export const backupNotFound = (id: string) => missing('6200', `Backup ${id} does not exist.`);
export const checkpointNotFound = (id: string) => missing('6217', `Restore point ${id} does not exist.`);
export const operationLogNotFound = (id: string) => missing('6500', `Operation log ${id} does not exist.`);
export const memberNotFound = (id: string) => missing('6705', `Share member ${id} does not exist.`);
export const diskNotFound = (id: string) => missing('7000', `Disk ${id} does not exist.`);

/** The refusal of `action` when a guarded transition lost: gone → `notFoundError`, else the status met. */
export function lostTransition<S extends string, A extends string>(
  lc: Lifecycle<S, A>,
  action: A,
  id: string,
  t: { ok: false; reason: 'gone' } | { ok: false; reason: 'status'; status: string },
  notFoundError: DomainError,
): DomainError {
  return t.reason === 'gone' ? notFoundError : refusal(lc, action, { id, status: t.status });
}

/**
 * Applies `action` of `lc` through a repository's guarded transition (`run(from, to)`): the record moved, or the
 * action's refusal for the status met (or `notFoundError` when it is gone).
 */
export async function transit<S extends string, A extends string, R>(
  lc: Lifecycle<S, A>,
  action: A,
  id: string,
  notFoundError: DomainError,
  run: (from: readonly string[] | null, to: string | null) => Promise<Transition<R>>,
): Promise<R> {
  const t = await run(fromStatuses(lc, action), lc.actions[action].to ?? null);
  if (!t.ok) throw lostTransition(lc, action, id, t, notFoundError);
  return t.record;
}
