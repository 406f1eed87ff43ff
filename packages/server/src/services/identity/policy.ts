import type { AuthContext } from '../../domain/auth-context.js';
import { type DomainError, forbidden } from '../../domain/errors.js';

/** Keystone's policy text, so clients print what they print against Keystone. */
export function denied(rule: string): DomainError {
  return forbidden(`You are not authorized to perform the requested action: identity:${rule}.`);
}

export function requireAdmin(caller: AuthContext, rule: string): void {
  if (!caller.isAdmin) throw denied(rule);
}

/** Admins, or the user acting on itself. */
export function requireAdminOrSelf(caller: AuthContext, userId: string, rule: string): void {
  if (!caller.isAdmin && caller.userId !== userId) throw denied(rule);
}
