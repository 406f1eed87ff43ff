import type { Message } from '@cinderbox/sdk';
import { sortedRecord } from '../output/format.js';
import type { ActionContext } from '../runtime/context.js';
import { CliError } from '../runtime/errors.js';
import { defined, found, num, str } from './common.js';

const HEADERS = [
  'ID',
  'Event ID',
  'Resource Type',
  'Resource UUID',
  'Message Level',
  'User Message',
  'Request ID',
  'Created At',
  'Guaranteed Until',
];

export async function list(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const conn = await ctx.conn();
  const projectId =
    typeof o.project === 'string'
      ? String((await found('project', o.project, () => conn.identity.findProject(o.project as string))).id)
      : undefined;
  const messages = await conn.blockStorage
    .messages(defined({ projectId }), defined({ maxItems: num(o.limit), marker: str(o.marker) }))
    .toArray();
  ctx.printList({
    headers: HEADERS,
    rows: messages.map((m: Message) => [
      m.id,
      m.eventId,
      m.resourceType ?? null,
      m.resourceUuid ?? null,
      m.messageLevel,
      m.userMessage,
      m.requestId,
      m.createdAt,
      m.guaranteedUntil,
    ]),
  });
}

/** OSC prints the whole body, links included, sorted by key. */
export async function show(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const id = String(ctx.args[0]);
  const m = await found('message', id, () => bs.getMessage(id));
  ctx.printShow(sortedRecord(m.raw));
}

/** Every ID is tried; OSC's "Failed to delete N of M messages." when any failed. */
export async function remove(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const ids = ctx.args[0] as string[];
  let errors = 0;
  for (const id of ids) {
    try {
      await bs.deleteMessage(id);
    } catch {
      process.stderr.write(`Failed to delete message: ${id}\n`);
      errors++;
    }
  }
  if (errors > 0) throw new CliError(`Failed to delete ${errors} of ${ids.length} messages.`);
}
