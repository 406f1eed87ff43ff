/**
 * The change feed on PostgreSQL: `NOTIFY cinderbox_changes` / `LISTEN cinderbox_changes` on one dedicated
 * connection per node (a pooled connection would lose its LISTEN when the pool recycles it). The connection is
 * re-established after a loss, with a growing delay; while it is down, messages are dropped, not queued.
 */
import type { Logger } from 'pino';
import type { ChangeFeed } from '../domain/ports/change-feed.js';

const CHANNEL = 'cinderbox_changes';
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes and more. */
const MAX_PAYLOAD = 7900;

export async function postgresChangeFeed(url: string, logger?: Logger): Promise<ChangeFeed> {
  const { default: pg } = await import('pg');
  const listeners: ((m: string) => void)[] = [];
  let client: InstanceType<typeof pg.Client> | null = null;
  let closed = false;
  let delay = 500;
  let retry: NodeJS.Timeout | undefined;
  let lostLogged = false;

  const connect = async (): Promise<void> => {
    if (closed) return;
    const c = new pg.Client({ connectionString: url, application_name: 'cinderbox-changes' });
    // Without a listener a lost connection would be an uncaught exception.
    c.on('error', () => lost(c));
    c.on('end', () => lost(c));
    c.on('notification', (n) => {
      if (n.channel !== CHANNEL || n.payload === undefined) return;
      for (const l of listeners) l(n.payload);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      c.end().catch(() => {});
      if (!lostLogged) logger?.warn({ err: { message: (err as Error).message } }, 'change feed: cannot listen on PostgreSQL; retrying');
      lostLogged = true;
      schedule();
      return;
    }
    if (closed) {
      await c.end().catch(() => {});
      return;
    }
    client = c;
    delay = 500;
    if (lostLogged) logger?.info('change feed: listening on PostgreSQL again');
    lostLogged = false;
  };
  const schedule = () => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, delay);
    retry.unref();
    delay = Math.min(delay * 2, 30_000);
  };
  const lost = (c: InstanceType<typeof pg.Client>) => {
    if (client !== c) return;
    client = null;
    if (closed) return;
    if (!lostLogged) logger?.warn('change feed: PostgreSQL connection lost; other nodes\' changes are missed until it is back');
    lostLogged = true;
    schedule();
  };

  await connect();
  return {
    send(message) {
      if (!client || Buffer.byteLength(message) > MAX_PAYLOAD) return;
      client.query('SELECT pg_notify($1, $2)', [CHANNEL, message]).catch(() => {});
    },
    onMessage(listener) {
      listeners.push(listener);
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = null;
      await c?.end().catch(() => {});
    },
  };
}
