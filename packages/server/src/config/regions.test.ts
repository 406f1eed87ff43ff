import assert from 'node:assert/strict';
import { test } from 'node:test';
import { regionsConfig } from './regions.js';

test('regions map names to configured backup targets, from flags or CINDERBOX_REGIONS', () => {
  assert.deepEqual(regionsConfig({ regions: ['eu-de=default', 'eu-nl=s3a'] }, {}, ['s3a']), [
    { name: 'eu-de', target: 'default' },
    { name: 'eu-nl', target: 's3a' },
  ]);
  assert.deepEqual(regionsConfig({}, { CINDERBOX_REGIONS: ' a=default  b=x ' }, ['x']), [
    { name: 'a', target: 'default' },
    { name: 'b', target: 'x' },
  ]);
  assert.deepEqual(regionsConfig({}, {}, []), []);
});

test('a region naming an unknown target, a bad name or a duplicate is refused with the spec in the message', () => {
  assert.throws(() => regionsConfig({ regions: ['eu=nowhere'] }, {}, ['s3a']), /eu=nowhere.*not a configured backup target/);
  assert.throws(() => regionsConfig({ regions: ['=default'] }, {}, []), /expected NAME=TARGET/);
  assert.throws(() => regionsConfig({ regions: ['bad\u0001name=default'] }, {}, []), /the name must be/);
  assert.throws(() => regionsConfig({ regions: ['a=default', 'a=s3a'] }, {}, ['s3a']), /configured twice/);
});
