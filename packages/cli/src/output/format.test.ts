import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { UsageError } from '../runtime/errors.js';

const ESC = String.fromCharCode(27);

import { formatList, formatShow, humanValue, selectColumns } from './format.js';

const list = {
  headers: ['ID', 'Name', 'Size', 'Properties'],
  rows: [
    ['a1', 'one', 1, { k: 'v', b: 'c' }],
    ['b2', null, 10, {}],
  ],
};

test('table lists draw an ASCII grid with one rule under the header and none between rows', () => {
  const out = formatList(list, { format: 'table' });
  const lines = out.trimEnd().split('\n');
  assert.equal(lines.length, 6);
  assert.match(lines[0] as string, /^\+-+\+-+\+-+\+-+\+$/);
  assert.match(lines[1] as string, /^\| ID +\| Name +\| Size \| Properties +\|$/);
  assert.equal(lines[2], lines[0]);
  assert.match(lines[3] as string, /^\| a1 +\| one +\| +1 \| b='c', k='v' \|$/);
  assert.match(lines[4] as string, /^\| b2 +\| None +\| +10 \| +\|$/);
  assert.equal(lines[5], lines[0]);
  assert.ok(!out.includes(`${ESC}[`), 'no colour codes unless asked');
});

test('table colour is applied only when asked (a terminal)', () => {
  assert.ok(formatList(list, { format: 'table', colour: true }).includes(`${ESC}[`));
});

test('an empty list prints nothing as a table or values, and [] as json or yaml', () => {
  const empty = { headers: ['ID'], rows: [] };
  assert.equal(formatList(empty, { format: 'table' }), '');
  assert.equal(formatList(empty, { format: 'value' }), '');
  assert.deepEqual(JSON.parse(formatList(empty, { format: 'json' })), []);
  assert.deepEqual(parse(formatList(empty, { format: 'yaml' })), []);
});

test('json and yaml lists are objects keyed by the column headers, with real types and null', () => {
  const expected = [
    { ID: 'a1', Name: 'one', Size: 1, Properties: { k: 'v', b: 'c' } },
    { ID: 'b2', Name: null, Size: 10, Properties: {} },
  ];
  assert.deepEqual(JSON.parse(formatList(list, { format: 'json' })), expected);
  assert.deepEqual(parse(formatList(list, { format: 'yaml' })), expected);
});

test('value lists print one space-separated line per row', () => {
  assert.equal(formatList(list, { format: 'value' }), "a1 one 1 b='c', k='v'\nb2 None 10 \n");
});

test('-c keeps the table column order and drops the rest in every format', () => {
  assert.equal(formatList(list, { format: 'value', columns: ['Size', 'ID'] }), 'a1 1\nb2 10\n');
  assert.deepEqual(JSON.parse(formatList(list, { format: 'json', columns: ['Name'] })), [
    { Name: 'one' },
    { Name: null },
  ]);
  const table = formatList(list, { format: 'table', columns: ['ID'] });
  assert.doesNotMatch(table, /Name/);
});

test('an unknown -c column is a usage error naming the available columns', () => {
  assert.throws(
    () => formatList(list, { format: 'json', columns: ['ID', 'Nope'] }),
    (e: unknown) =>
      e instanceof UsageError && /'Nope'/.test(e.message) && /available: ID, Name, Size, Properties/.test(e.message),
  );
  assert.deepEqual(selectColumns(['a', 'b', 'c'], ['c', 'a']), [0, 2]);
  assert.deepEqual(selectColumns(['a', 'b'], []), [0, 1]);
});

test('show prints Field/Value pairs; json and yaml give the record; value gives one value per line', () => {
  const rec = {
    id: 'x',
    size: 2,
    properties: { a: 'b' },
    description: null,
    bootable: false,
  };
  const table = formatShow(rec, { format: 'table' });
  assert.match(table, /\| Field +\| Value +\|/);
  assert.match(table, /\| properties +\| a='b' +\|/);
  assert.match(table, /\| description +\| None +\|/);
  assert.match(table, /\| bootable +\| False +\|/);
  assert.deepEqual(JSON.parse(formatShow(rec, { format: 'json' })), rec);
  assert.deepEqual(parse(formatShow(rec, { format: 'yaml' })), rec);
  assert.equal(formatShow(rec, { format: 'value', columns: ['id', 'size'] }), 'x\n2\n');
  assert.deepEqual(JSON.parse(formatShow({ a: undefined }, { format: 'json' })), { a: null });
});

test('human values follow OSC: None, True/False, sorted k=v maps, comma-joined scalar lists', () => {
  assert.equal(humanValue(undefined), 'None');
  assert.equal(humanValue(true), 'True');
  assert.equal(humanValue(['a', 'b']), 'a, b');
  assert.equal(humanValue({ z: '1', a: 2 }), "a=2, z='1'");
  assert.equal(humanValue([{ id: 1 }]), '[{"id":1}]');
});
