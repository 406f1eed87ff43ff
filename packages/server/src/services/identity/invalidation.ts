import type { Scope } from '../../domain/ports/metadata-store.js';

/**
 * What the directories tell the token side when something a cached AuthContext depends on changes.
 * `revoke*` marks stored tokens revoked inside the caller's transaction (deletes, disables, password
 * changes, as Keystone's revocation events do); `forget*` drops cached contexts after the commit (also used
 * alone for role changes, since roles are read at validation time).
 */
export interface TokenInvalidation {
  revokeUser(userId: string, tx: Scope): Promise<void>;
  revokeProject(projectId: string, tx: Scope): Promise<void>;
  forgetUser(userId: string): void;
  forgetProject(projectId: string): void;
}
