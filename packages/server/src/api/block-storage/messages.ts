/**
 * User messages (Cinder 3.3+, cinder/api/v3/messages.py): list, show, delete. Below 3.3, and on v2, there is no
 * such resource (404). Filters, sort and paging are read from 3.5 on, as Cinder reads them.
 */
import type { Message as MessageSchema } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../../domain/errors.js';
import { type Message, userMessage } from '../../domain/message.js';
import { authOf, mvOf, nextLinks, parseListRequest, selfLinks } from './common.js';
import type { BlockStorageDeps } from './index.js';

const MESSAGES_BASE_MICRO_VERSION = '3.3';

function served(req: FastifyRequest): void {
  if (req.cb.apiVersion === null || !mvOf(req).atLeast(MESSAGES_BASE_MICRO_VERSION)) throw notFound('The resource could not be found.');
}

/** cinder/api/v3/views/messages.py: `resource_type`/`resource_uuid` only when set; `expires_at` as `guaranteed_until`. */
function messageView(req: FastifyRequest, m: Message): Static<typeof MessageSchema> {
  const out: Static<typeof MessageSchema> = {
    id: m.id,
    event_id: m.event_id,
    user_message: userMessage(m.action_id, m.detail_id),
    message_level: m.message_level,
    created_at: m.created_at,
    guaranteed_until: m.expires_at,
    request_id: m.request_id,
    links: selfLinks(req, 'messages', m.id),
  };
  if (m.resource_type) out.resource_type = m.resource_type;
  if (m.resource_uuid) out.resource_uuid = m.resource_uuid;
  return out;
}

const idOf = (req: FastifyRequest) => (req.params as { id?: string }).id ?? '';

export function registerMessageRoutes(scope: FastifyInstance, deps: BlockStorageDeps): void {
  const { messages } = deps;

  scope.get('/messages', async (req) => {
    served(req);
    const mv = mvOf(req);
    const lr = parseListRequest(req);
    const res = await messages.list(authOf(req), mv, lr);
    const out: Record<string, unknown> = { messages: res.items.map((m) => messageView(req, m)) };
    if (mv.atLeast('3.5')) {
      const links = nextLinks(
        req,
        'messages',
        false,
        res.items.map((m) => m.id),
        res.limit,
      );
      if (links) out.messages_links = links;
    }
    return out;
  });

  scope.get('/messages/:id', async (req) => {
    served(req);
    return { message: messageView(req, await messages.get(authOf(req), idOf(req))) };
  });

  scope.delete('/messages/:id', async (req, reply: FastifyReply) => {
    served(req);
    await messages.delete(authOf(req), idOf(req));
    reply.code(204).send();
  });
}
