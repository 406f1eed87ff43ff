import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { MarkSet } from './mark-set.js';

test('MarkSet finds every id added (from bytes or hex), not others, and counts distinct ids once', () => {
  const ids = Array.from({ length: 3000 }, () => randomBytes(32));
  const set = new MarkSet();
  for (const id of ids) set.addAt(Buffer.concat([Buffer.alloc(32), id]), 32);
  for (const id of ids.slice(0, 500)) set.addHex(id.toString('hex'));
  assert.equal(set.seal(), 3000);
  for (const id of ids) assert.equal(set.hasHex(id.toString('hex')), true);
  for (let i = 0; i < 1000; i++) assert.equal(set.hasHex(randomBytes(32).toString('hex')), false);
  const hex = (ids[7] as Buffer).toString('hex');
  assert.equal(set.firstSightHex(hex), true);
  assert.equal(set.firstSightHex(hex), false);
  assert.equal(set.firstSightHex(randomBytes(32).toString('hex')), false);
  assert.throws(() => set.addHex(hex), /sealed/);
});
