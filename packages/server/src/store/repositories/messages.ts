import type { Message } from '../../domain/message.js';
import type { MessagesRepository } from '../../domain/ports/message-store.js';
import { MESSAGES_LIST, listRows } from '../list-query.js';
import { executor } from '../metadata-store.js';
import type { MessageTable } from '../schema.js';

function toMessage(r: MessageTable): Message {
  return { ...r, message_level: 'ERROR' };
}

export const messagesRepository: MessagesRepository = {
  async insert(scope, m) {
    await executor(scope).insertInto('messages').values(m).execute();
  },
  async get(scope, id, now) {
    const r = await executor(scope)
      .selectFrom('messages')
      .selectAll()
      .where('id', '=', id)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return r && toMessage(r);
  },
  async list(scope, q, now) {
    const live = { ...q, where: { ...q.where, filters: [...q.where.filters, { kind: 'cmp' as const, column: 'expires_at', op: '>' as const, value: now }] } };
    const page = await listRows(executor(scope), MESSAGES_LIST, live);
    if (!page) return { ok: false, reason: 'marker' };
    return { ok: true, items: page.rows.map((r) => toMessage(r as unknown as MessageTable)), count: page.count };
  },
  async remove(scope, id) {
    const res = await executor(scope).deleteFrom('messages').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  },
  async reapExpired(scope, now) {
    const res = await executor(scope).deleteFrom('messages').where('expires_at', '<=', now).executeTakeFirst();
    return Number(res.numDeletedRows);
  },
};
