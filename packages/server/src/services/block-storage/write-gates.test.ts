import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WriteGates } from './write-gates.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WriteGates', () => {
  it('a barrier waits for the writes already past the gate, and holds new ones until its snapshots are taken', async () => {
    const gates = new WriteGates();
    const events: string[] = [];
    const slow = deferred();
    const first = gates.pass('a', async () => {
      events.push('write 1 start');
      await slow.promise;
      events.push('write 1 end');
    });
    const barrier = gates.hold(['a', 'b'], async () => {
      events.push('snapshot');
      return 'taken';
    });
    const second = gates.pass('a', async () => {
      events.push('write 2');
    });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(events, ['write 1 start'], 'the barrier waits for write 1; write 2 waits at the closed gate');
    assert.equal(gates.isClosed('a'), true);
    slow.resolve();
    assert.equal(await barrier, 'taken');
    await Promise.all([first, second]);
    assert.deepEqual(events, ['write 1 start', 'write 1 end', 'snapshot', 'write 2']);
    assert.equal(gates.isClosed('a'), false);
  });

  it('reopens the gates when the snapshots fail, and leaves other volumes open throughout', async () => {
    const gates = new WriteGates();
    let wroteC = false;
    await assert.rejects(
      gates.hold(['a'], async () => {
        await gates.pass('c', async () => {
          wroteC = true;
        });
        throw new Error('driver failed');
      }),
      /driver failed/,
    );
    assert.equal(wroteC, true);
    assert.equal(gates.isClosed('a'), false);
    await gates.pass('a', async () => {});
  });

  it('runs barriers one after another', async () => {
    const gates = new WriteGates();
    const order: string[] = [];
    const slow = deferred();
    const one = gates.hold(['a'], async () => {
      order.push('one start');
      await slow.promise;
      order.push('one end');
    });
    const two = gates.hold(['a', 'b'], async () => {
      order.push('two');
    });
    await new Promise((r) => setImmediate(r));
    slow.resolve();
    await Promise.all([one, two]);
    assert.deepEqual(order, ['one start', 'one end', 'two']);
  });
});
