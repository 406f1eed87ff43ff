import type { Transfer } from '../transfer.js';
import type { Scope } from './metadata-store.js';

/** Open (not accepted, not deleted) volume transfers. */
export interface TransfersRepository {
  /** An open transfer by id, whoever offers it. */
  get(scope: Scope, id: string): Promise<Transfer | undefined>;
  insert(scope: Scope, transfer: Transfer): Promise<void>;
  /**
   * Open transfers whose volume still exists, oldest first; `projectId` null: every project's. A transfer of a
   * volume deleted meanwhile is no longer offered.
   */
  list(scope: Scope, projectId: string | null): Promise<Transfer[]>;
  /**
   * Closes an open transfer (accepted, with the project that took the volume, or withdrawn): only while it is
   * open, so two accepts of one transfer cannot both succeed. False when it was no longer open.
   */
  close(scope: Scope, id: string, at: string, accepted: { destinationProjectId: string } | null): Promise<boolean>;
}
