import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import { notFound } from '../../domain/errors.js';
import { type FailureEvent, type Message, MessageAction, MessageDetail, eventId } from '../../domain/message.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import { storedTime } from '../../domain/time.js';
import { canSee } from './access.js';
import { type Core, UUID_RE } from './core.js';
import { type FilterPolicy, resolveFilters } from './filters.js';
import { listQuery, type SortKeys } from './listing.js';
import { type ListRequest, type ListResult, MAX_LIMIT, type Microversion } from './types.js';

const COLUMNS = [
  'id',
  'project_id',
  'request_id',
  'resource_type',
  'resource_uuid',
  'event_id',
  'action_id',
  'detail_id',
  'message_level',
  'created_at',
  'expires_at',
];

/** etc/cinder/resource_filters.json's `message` entry. */
const ALLOWED = ['resource_uuid', 'resource_type', 'event_id', 'request_id', 'message_level'];

const FILTERS: FilterPolicy = {
  allowed: ALLOWED,
  legacyAllowed: () => ALLOWED,
  columns: new Set(COLUMNS),
  strictAllTenants: true,
  translate: () => null,
};

/** Any column of Cinder's model (`expires_at`, not the view's `guaranteed_until`). */
const SORT: SortKeys = { sortColumns: Object.fromEntries(COLUMNS.map((c) => [c, c])) };

/**
 * Records a user message for `event` in `scope`: the failure's own transaction where there is one. Expires after
 * the configured `message_ttl`.
 */
export async function recordMessage(core: Core, scope: Scope, event: FailureEvent): Promise<Message> {
  const now = core.deps.clock.now();
  const [actionId] = MessageAction[event.action];
  const [detailId] = MessageDetail[event.detail];
  const m: Message = {
    id: randomUUID(),
    project_id: event.projectId,
    request_id: event.requestId ?? `req-${randomUUID()}`,
    resource_type: event.resourceType,
    resource_uuid: event.resourceUuid,
    event_id: eventId(event.resourceType, actionId, detailId),
    action_id: actionId,
    detail_id: detailId,
    message_level: 'ERROR',
    created_at: storedTime(now),
    expires_at: storedTime(new Date(now.getTime() + core.deps.config.messageTtlSeconds * 1000)),
  };
  await core.repos.messages.insert(scope, m);
  return m;
}

/**
 * The same outside any transaction, for failure paths whose status move is not a transaction of theirs; a message
 * that cannot be written (a full metadata store) is logged and does not hide the failure it reports.
 */
export async function recordMessageQuietly(core: Core, event: FailureEvent): Promise<void> {
  try {
    await recordMessage(core, core.store.root, event);
  } catch (err) {
    core.deps.logger.warn({ err, event }, 'could not record a user message');
  }
}

/**
 * A failure path's status move and its message in one transaction, so the failed status is never seen without
 * its message. If that transaction fails (the metadata store is full: its reserve keeps room for status updates,
 * not for new rows), the move is retried alone and the message logged instead: a resource stuck in a transient
 * status would be worse than a missing message. Whether the move happened.
 */
export async function moveWithMessage(
  core: Core,
  move: (tx: Scope) => Promise<{ ok: boolean }>,
  event: FailureEvent | ((tx: Scope) => Promise<FailureEvent | null>),
): Promise<boolean> {
  try {
    return await core.store.transaction(async (tx) => {
      const moved = await move(tx);
      if (!moved.ok) return false;
      const e = typeof event === 'function' ? await event(tx) : event;
      if (e) await recordMessage(core, tx, e);
      return true;
    });
  } catch (err) {
    core.deps.logger.warn({ err }, 'could not record a user message with a failed status; moving the status alone');
    return core.store.transaction(async (tx) => (await move(tx)).ok);
  }
}

const messageNotFound = (id: string) => notFound(`Message ${id} could not be found.`);

/**
 * User messages (cinder/message/api.py): failure paths record them — inside the transaction that moves the
 * resource to its failed status where there is one, so a failure is never shown without its message or the other
 * way round — and the project's users list, show and delete them until they expire.
 */
export class MessageService {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly core: Core) {}

  /** Records `event` in `scope` (the failure's own transaction, or the store). */
  record(scope: Scope, event: FailureEvent): Promise<Message> {
    return recordMessage(this.core, scope, event);
  }

  /** Before 3.5 Cinder takes no filters, sort or paging: every message of the project, newest first. */
  async list(ctx: AuthContext, mv: Microversion, req: ListRequest): Promise<ListResult<Message>> {
    const effective: ListRequest = mv.atLeast('3.5')
      ? req
      : { limit: null, marker: null, offset: null, sort: [], withCount: false, filters: {} };
    const where = resolveFilters(ctx, mv, effective.filters, FILTERS);
    const q = listQuery(SORT, where, effective);
    const page = await this.core.repos.messages.list(this.core.store.root, q, this.core.now());
    if (!page.ok) throw notFound(`Marker ${req.marker} could not be found.`);
    return { items: page.items, count: page.count, limit: Math.min(q.limit, MAX_LIMIT) };
  }

  async get(ctx: AuthContext, id: string, scope: Scope = this.core.store.root): Promise<Message> {
    const m = UUID_RE.test(id) ? await this.core.repos.messages.get(scope, id.toLowerCase(), this.core.now()) : undefined;
    if (!m || !canSee(ctx, m.project_id)) throw messageNotFound(id);
    return m;
  }

  async delete(ctx: AuthContext, id: string): Promise<void> {
    await this.core.store.transaction(async (tx) => {
      const m = await this.get(ctx, id, tx);
      if (!(await this.core.repos.messages.remove(tx, m.id))) throw messageNotFound(id);
    });
  }

  /** Deletes expired messages now; how many went. */
  reap(): Promise<number> {
    return this.core.repos.messages.reapExpired(this.core.store.root, this.core.now());
  }

  /** Reaps every `intervalSeconds` until `stop()`; a failed reap is logged and tried again next time. */
  start(intervalSeconds: number = this.core.deps.config.messageReapSeconds): void {
    if (this.timer) return;
    const run = () => {
      this.reap().catch((err: unknown) => this.core.deps.logger.warn({ err }, 'reaping expired user messages failed'));
    };
    run();
    // Node's timers take at most 2^31-1 ms (~24.8 days); a longer delay would fire at once, over and over.
    this.timer = setInterval(run, Math.min(intervalSeconds * 1000, 2 ** 31 - 1));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
