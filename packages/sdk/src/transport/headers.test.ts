import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeadlineQueue } from './deadlines.js';
import { HeaderMap } from './headers.js';
import { splitUrl } from './node-http-handler.js';

test('HeaderMap reads and writes like Headers: case-insensitive names, appended values joined, copies independent', () => {
  const h = new HeaderMap({ 'X-Auth-Token': ' tok ', Accept: 'application/json' });
  assert.equal(h.get('x-auth-token'), 'tok');
  assert.equal(h.get('ACCEPT'), 'application/json');
  assert.equal(h.has('Accept'), true);
  h.append('Vary', 'a');
  h.append('vary', 'b');
  assert.equal(h.get('vary'), 'a, b');
  const copy = new HeaderMap(h);
  copy.set('Accept', 'text/plain');
  copy.delete('VARY');
  assert.equal(h.get('accept'), 'application/json');
  assert.equal(h.get('vary'), 'a, b');
  assert.equal(copy.get('vary'), null);
  // Anything that takes a HeadersInit takes it, by its name/value pairs.
  const whatwg = new Headers(h);
  assert.deepEqual([...whatwg].sort(), [...h].sort());
  assert.deepEqual(new HeaderMap([['A', '1']]).toObject(), { a: '1' });
  const seen: string[] = [];
  h.forEach((v, k) => seen.push(`${k}=${v}`));
  assert.deepEqual(seen, ['x-auth-token=tok', 'accept=application/json', 'vary=a, b']);
});

test('HeaderMap refuses what Headers refuses: a bad name, a value carrying CR/LF (header injection)', () => {
  const h = new HeaderMap();
  assert.throws(() => h.set('bad name', 'x'), TypeError);
  assert.throws(() => h.set('x-ok', 'a\r\nx-injected: 1'), TypeError);
  assert.throws(() => new HeaderMap({ 'x-ok': 'a\nb' }), TypeError);
  assert.equal(h.has('x-ok'), false);
  // A name checked once (cached) is still refused when bad the next time.
  assert.throws(() => h.set('bad name', 'y'), TypeError);
});

test('DeadlineQueue: an entry expires after its time, a removed one never does, an earlier one re-arms the timer', async () => {
  const q = new DeadlineQueue();
  const fired: string[] = [];
  const slow = q.add(200, () => fired.push('slow'));
  const removed = q.add(30, () => fired.push('removed'));
  q.add(40, () => fired.push('fast'));
  q.remove(removed);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(fired, ['fast']);
  assert.equal(q.size, 1);
  q.remove(slow);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(fired, ['fast']);
  assert.equal(q.size, 0);
});

test('splitUrl: plain URLs are split by hand, anything needing normalisation goes through URL', () => {
  assert.deepEqual(splitUrl('http://127.0.0.1:8776/v3/p/snapshots/ab-1?limit=5'), {
    origin: 'http://127.0.0.1:8776',
    path: '/v3/p/snapshots/ab-1?limit=5',
  });
  assert.deepEqual(splitUrl('https://Cinder.Example:443'), { origin: 'https://cinder.example:443', path: '/' });
  assert.deepEqual(splitUrl('http://h/v3/a/../b'), { origin: 'http://h', path: '/v3/b' });
  assert.deepEqual(splitUrl('http://h/v3/a b#frag'), { origin: 'http://h', path: '/v3/a%20b' });
  assert.deepEqual(splitUrl('http://[::1]:80/x'), { origin: 'http://[::1]', path: '/x' });
});
