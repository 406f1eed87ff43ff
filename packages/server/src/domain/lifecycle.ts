import { badRequest, conflict, type DomainError } from './errors.js';

/**
 * One row of a resource's transition table: which statuses an action may start from, what status it moves the
 * resource to, and what the API answers when the current status does not allow it. Cinder answers most of
 * these with 400 `Invalid<Resource>`; a few (CBR, racing deletes) are 409. The tables are data so a rule is
 * stated once, read by the service that applies it, and tested row by row.
 */
export interface ActionRule<S extends string> {
  /** Statuses the action may start from; `'*'` means any status (force delete, reset). */
  readonly from: readonly S[] | '*';
  /** Status the resource moves to when the action starts; absent when the status does not change. */
  readonly to?: S;
  /** The error kind of a refusal. */
  readonly refuse: 'badRequest' | 'conflict';
  /** The refusal's message, in the words the real service uses. */
  readonly message: (subject: Subject) => string;
  /**
   * The dialect's error code of a refusal, for APIs that have one (CBR's `BackupService.NNNN`); a function
   * when the code depends on the status met (CBR answers "already restoring" and "not available" apart).
   */
  readonly code?: string | ((subject: Subject) => string);
}

/** What a refusal message may name. */
export interface Subject {
  id: string;
  status: string;
}

export interface Lifecycle<S extends string, A extends string> {
  /** Every status the resource can have (reset-status accepts exactly these). */
  readonly statuses: readonly S[];
  readonly actions: { readonly [K in A]: ActionRule<S> };
}

/** Builds a lifecycle with its status and action names checked by the compiler. */
export function lifecycle<const S extends string, const A extends string>(
  statuses: readonly S[],
  actions: { readonly [K in A]: ActionRule<S> },
): Lifecycle<S, A> {
  return { statuses, actions };
}

/** Whether `action` may start from `status`. */
export function allows<S extends string, A extends string>(lc: Lifecycle<S, A>, action: A, status: string): boolean {
  const from = lc.actions[action].from;
  return from === '*' || (from as readonly string[]).includes(status);
}

/** The statuses `action` may start from, for a guarded update's `WHERE status IN (…)`; null for any status. */
export function fromStatuses<S extends string, A extends string>(lc: Lifecycle<S, A>, action: A): readonly S[] | null {
  const from = lc.actions[action].from;
  return from === '*' ? null : from;
}

/** The error the API returns when `action` is refused for `subject`. */
export function refusal<S extends string, A extends string>(lc: Lifecycle<S, A>, action: A, subject: Subject): DomainError {
  const rule = lc.actions[action];
  const message = rule.message(subject);
  const code = typeof rule.code === 'function' ? rule.code(subject) : rule.code;
  const opts = code === undefined ? undefined : { code };
  return rule.refuse === 'conflict' ? conflict(message, opts) : badRequest(message, opts);
}

/** Throws the action's refusal unless `subject.status` allows it; returns the rule otherwise. */
export function ensureAllowed<S extends string, A extends string>(
  lc: Lifecycle<S, A>,
  action: A,
  subject: Subject,
): ActionRule<S> {
  if (!allows(lc, action, subject.status)) throw refusal(lc, action, subject);
  return lc.actions[action];
}

/** Whether `status` is one of the resource's statuses (reset-status validation). */
export function isStatus<S extends string, A extends string>(lc: Lifecycle<S, A>, status: string): status is S {
  return (lc.statuses as readonly string[]).includes(status);
}
