import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { type Pacer, QosThrottle } from './qos-throttle.js';

/** A clock that moves only when the throttle sleeps: the slept time is exactly what pacing cost. */
function fakePacer(): Pacer & { slept: number } {
  let t = 0;
  const p = {
    slept: 0,
    now: () => t,
    sleep: async (ms: number) => {
      p.slept += ms;
      t += ms;
    },
  };
  return p;
}

async function pump(s: NodeJS.ReadWriteStream | null, chunks: number, size: number): Promise<number> {
  assert.ok(s, 'a limited volume gets a pacing stream');
  let bytes = 0;
  const out = Readable.from(Array.from({ length: chunks }, () => Buffer.alloc(size))).pipe(s as NodeJS.ReadWriteStream);
  for await (const c of out as AsyncIterable<Buffer>) bytes += c.length;
  return bytes;
}

describe('back-end QoS throttle', () => {
  test('no limits, no stream', () => {
    const q = new QosThrottle(fakePacer());
    assert.equal(q.stream('v', null, 'read'), null);
    assert.equal(q.stream('v', { write: 10 }, 'read'), null, 'a write limit does not pace reads');
  });

  test('bytes pass unchanged, paced to the rate after a one-second burst', async () => {
    const p = fakePacer();
    const q = new QosThrottle(p);
    // 10 chunks of 100 KiB at 100 KiB/s: the first second's worth is the burst, the other 9 wait a second each.
    assert.equal(await pump(q.stream('v', { read: 100 * 1024 }, 'read'), 10, 100 * 1024), 10 * 100 * 1024);
    assert.equal(Math.round(p.slept), 9000);
  });

  test('the total limit is shared by reads and writes of one volume, not by other volumes', async () => {
    const p = fakePacer();
    const q = new QosThrottle(p);
    await pump(q.stream('v', { total: 1000 }, 'read'), 2, 1000);
    assert.equal(Math.round(p.slept), 1000);
    await pump(q.stream('v', { total: 1000 }, 'write'), 1, 1000);
    assert.equal(Math.round(p.slept), 2000, 'the write waited for the read’s debt');
    await pump(q.stream('w', { total: 1000 }, 'write'), 1, 1000);
    assert.equal(Math.round(p.slept), 2000, 'another volume has its own bucket');
  });

  test('the stricter of the direction and total limits wins', async () => {
    const p = fakePacer();
    const q = new QosThrottle(p);
    await pump(q.stream('v', { write: 500, total: 1000 }, 'write'), 3, 500);
    assert.equal(Math.round(p.slept), 2000);
  });
});
