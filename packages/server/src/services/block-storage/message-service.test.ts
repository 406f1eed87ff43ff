import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../../domain/message.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type { Core } from './core.js';
import { moveWithMessage } from './message-service.js';

/**
 * A store whose transactions record what ran and whose message inserts fail as a full metadata store's do
 * (the reserve keeps room for status updates, not for new rows). A fake: this tests moveWithMessage's fallback.
 */
function fullStore(insertFails: boolean) {
  const log: string[] = [];
  const inserted: Message[] = [];
  let txs = 0;
  const core = {
    store: {
      root: {} as Scope,
      async transaction<T>(fn: (tx: Scope) => Promise<T>): Promise<T> {
        txs++;
        return fn({} as Scope);
      },
    },
    repos: {
      messages: {
        async insert(_scope: Scope, m: Message) {
          if (insertFails) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
          inserted.push(m);
        },
      },
    },
    deps: { clock: { now: () => new Date('2026-01-01T00:00:00Z') }, config: { messageTtlSeconds: 60 }, logger: { warn: () => log.push('warn') } },
  } as unknown as Core;
  return { core, log, inserted, txs: () => txs };
}

const event = {
  projectId: 'p',
  resourceType: 'VOLUME',
  resourceUuid: 'v',
  action: 'EXTEND_VOLUME',
  detail: 'DRIVER_FAILED_EXTEND',
  requestId: 'req-1',
} as const;

test('the failed status and its message are written in one transaction', async () => {
  const s = fullStore(false);
  let moves = 0;
  assert.equal(await moveWithMessage(s.core, async () => ({ ok: ++moves > 0 }), event), true);
  assert.equal(moves, 1);
  assert.equal(s.txs(), 1);
  assert.equal(s.inserted[0]?.event_id, 'VOLUME_VOLUME_007_010');
  assert.equal(s.inserted[0]?.expires_at, '2026-01-01T00:01:00.000000');
});

test('when the message cannot be written the status still moves, in a transaction of its own', async () => {
  const s = fullStore(true);
  let moves = 0;
  assert.equal(await moveWithMessage(s.core, async () => ({ ok: ++moves > 0 }), event), true);
  assert.equal(moves, 2);
  assert.equal(s.txs(), 2);
  assert.deepEqual(s.log, ['warn']);
});

test('no message when the move did not happen (a racing delete or reset got there first)', async () => {
  const s = fullStore(false);
  assert.equal(await moveWithMessage(s.core, async () => ({ ok: false }), event), false);
  assert.deepEqual(s.inserted, []);
});
