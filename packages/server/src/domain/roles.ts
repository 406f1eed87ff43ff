import type { AuthContext } from './auth-context.js';

/**
 * Keystone's default roles are a chain (admin ⇒ member ⇒ reader) and a token carries the implied ones too, so
 * "may change things in its project" is simply holding `member`; `reader` alone may only look.
 */
export function canWrite(ctx: AuthContext): boolean {
  return ctx.isAdmin || ctx.roleNames.has('member');
}
