import type { Message } from '../message.js';
import type { ListOutcome, ListQuery } from './block-storage-store.js';
import type { Scope } from './metadata-store.js';

/** User messages (Cinder's `messages` table). Rows past `expires_at` are never returned, reaped or not. */
export interface MessagesRepository {
  insert(scope: Scope, message: Message): Promise<void>;
  /** A message not yet expired at `now`, whoever's it is. */
  get(scope: Scope, id: string, now: string): Promise<Message | undefined>;
  /** One page of messages not yet expired at `now` (the list query's filters are message columns). */
  list(scope: Scope, q: ListQuery, now: string): Promise<ListOutcome<Message>>;
  /** False when there was no such message. */
  remove(scope: Scope, id: string): Promise<boolean>;
  /** Deletes every message expired at `now`; how many went. */
  reapExpired(scope: Scope, now: string): Promise<number>;
}
