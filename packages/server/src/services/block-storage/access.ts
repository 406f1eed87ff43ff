import type { AuthContext } from '../../domain/auth-context.js';
import { policyForbidden } from '../../domain/errors.js';

/**
 * Cinder's visibility rule: a resource is visible to its own project, and to anyone holding role admin
 * (by id, through their own project URL). Invisible resources are reported as not found, never forbidden.
 */
export function canSee(ctx: AuthContext, projectId: string): boolean {
  return ctx.isAdmin || ctx.projectId === projectId;
}

export function requireAdmin(ctx: AuthContext, rule: string): void {
  if (!ctx.isAdmin) throw policyForbidden(rule);
}

/** The project new resources belong to: always the caller's, even when built from another project's resource. */
export function callerProject(ctx: AuthContext): string {
  if (!ctx.projectId) throw policyForbidden('volume:create');
  return ctx.projectId;
}
