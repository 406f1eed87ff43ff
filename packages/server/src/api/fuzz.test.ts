/**
 * Property-based fuzzing of every route in the server's route table (a new route is fuzzed without being listed
 * here). Requests are generated from the route's request schema where it has one (wrapper keys and generic JSON
 * where it has not), then mutated: wrong types, huge and hostile strings, deep nesting, prototype-pollution keys,
 * unicode (lone surrogates, RTL, emoji), NUL, invalid UTF-8, odd query strings and headers. For every answer:
 * no 5xx; a 4xx carries a fault body of the route's dialect; a refused mutating request changed nothing.
 *
 * FUZZ_SEED and FUZZ_RUNS (requests per route and caller) change the defaults; the seed is printed so a failure
 * can be replayed.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import * as contract from '@cinderbox/api-schema';
import { startTestServer, type TestServer, waitFor } from '../test-support/harness.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261207);
const RUNS = Number(process.env.FUZZ_RUNS ?? 5);

interface Caller {
  name: 'admin' | 'member';
  token: string;
  projectId: string;
}

interface Fixtures {
  volume: string;
  snapshot: string;
  backup: string;
  vault: string;
  policy: string;
  checkpoint: string;
  cbrBackup: string;
  oplog: string;
  victimProject: string;
  victimUser: string;
  role: string;
  type: string;
}

let t: TestServer;
let admin: Caller;
let member: Caller;
let fx: Fixtures;

// ---------------------------------------------------------------------------------------------------------------
// Hostile values

const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\u202eevil\u202c',
  'שלום',
  '👍🏽🧪',
  '\u0007\u001b[31m',
  'line\nbreak',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'prototype',
  '../../../etc/passwd',
  "' OR 1=1 --",
  '%00',
  '%',
  '-1',
  '0',
  '1e308',
  '99999999999999999999999',
  'NaN',
  'null',
  'true',
  'x'.repeat(256),
  'y'.repeat(70_000),
];

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);

const hostileScalar = fc.oneof(
  hostileString,
  fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, -0, 2 ** 31, 2 ** 53 + 2, 1e308, -1e308),
  fc.integer(),
);

const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'];

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileScalar },
  { weight: 1, arbitrary: fc.constantFrom<unknown>([], {}, [[[]]], { __proto__: null }, [null]) },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constantFrom(...POLLUTION_KEYS), v: fc.constantFrom<unknown>({ polluted: true }, 'x', 1, null) }).map(
      ({ k, v }) => JSON.parse(`{${JSON.stringify(k)}: ${JSON.stringify(v)}}`) as unknown,
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

// ---------------------------------------------------------------------------------------------------------------
// Bodies from JSON schemas

type Schema = Record<string, unknown>;

function typesOf(s: Schema): string[] {
  const ty = s.type;
  if (Array.isArray(ty)) return ty as string[];
  if (typeof ty === 'string') return [ty];
  if (s.properties) return ['object'];
  return ['string'];
}

/** An arbitrary of values that mostly match `s` (patterns are approximated), so handlers get past validation. */
function fromSchema(s: Schema, depth = 0): fc.Arbitrary<unknown> {
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  const alts = (s.oneOf ?? s.anyOf) as Schema[] | undefined;
  if (alts && !s.properties) return fc.oneof(...alts.map((a) => fromSchema({ ...s, oneOf: undefined, anyOf: undefined, ...a }, depth)));
  const arbs = typesOf(s).map((ty): fc.Arbitrary<unknown> => {
    switch (ty) {
      case 'null':
        return fc.constant(null);
      case 'boolean':
        return fc.boolean();
      case 'integer':
        return fc.integer({ min: (s.minimum as number) ?? -10, max: Math.min((s.maximum as number) ?? 10, 10) });
      case 'number':
        return fc.double({ noNaN: true, min: -10, max: 10 });
      case 'array':
        return depth > 4 ? fc.constant([]) : fc.array(fromSchema((s.items as Schema) ?? {}, depth + 1), { maxLength: 3 });
      case 'object': {
        if (depth > 4) return fc.constant({});
        const props = (s.properties ?? {}) as Record<string, Schema>;
        const required = new Set((s.required as string[]) ?? []);
        const shape: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [k, v] of Object.entries(props)) shape[k] = fromSchema(v, depth + 1);
        const requiredKeys = Object.keys(props).filter((k) => required.has(k));
        if (Object.keys(shape).length === 0) return fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 });
        return fc.record(shape, { requiredKeys });
      }
      default: {
        if (s.pattern === '^[0-9]+$') return fc.integer({ min: 1, max: 3 }).map(String);
        if (typeof s.pattern === 'string' && s.pattern.includes('[0-9a-fA-F]{8}')) return fc.uuid();
        return fc.string({ maxLength: Math.min((s.maxLength as number) ?? 12, 12) });
      }
    }
  });
  return arbs.length === 1 ? arbs[0]! : fc.oneof(...arbs);
}

/** Puts `value` at a random place inside `body` (or in place of it). */
function implant(body: unknown, path: number[], value: unknown): unknown {
  if (path.length === 0 || body === null || typeof body !== 'object') return value;
  const [i, ...rest] = path as [number, ...number[]];
  if (Array.isArray(body)) {
    if (body.length === 0) return [value];
    const copy = [...body];
    copy[i % copy.length] = implant(copy[i % copy.length], rest, value);
    return copy;
  }
  const keys = Object.keys(body);
  const copy = Object.fromEntries(Object.entries(body));
  if (keys.length === 0) return JSON.parse(`{"k": ${JSON.stringify(value) ?? 'null'}}`) as unknown;
  const k = keys[i % keys.length]!;
  Object.defineProperty(copy, k, { value: implant((body as Record<string, unknown>)[k], rest, value), enumerable: true, writable: true, configurable: true });
  return copy;
}

/** JSON text of `body` with `key` added at the top and one level down (JSON.stringify drops `__proto__` keys). */
function withKeyText(body: unknown, key: string, value: unknown): string {
  const v = JSON.stringify(value) ?? 'null';
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return `{${JSON.stringify(key)}: ${v}}`;
  const entries = Object.entries(body).map(([k, x]) => {
    const inner =
      x !== null && typeof x === 'object' && !Array.isArray(x)
        ? `{${[`${JSON.stringify(key)}: ${v}`, ...Object.entries(x).map(([ik, iv]) => `${JSON.stringify(ik)}: ${JSON.stringify(iv) ?? 'null'}`)].join(', ')}}`
        : (JSON.stringify(x) ?? 'null');
    return `${JSON.stringify(k)}: ${inner}`;
  });
  return `{${[`${JSON.stringify(key)}: ${v}`, ...entries].join(', ')}}`;
}

type BodySpec = { kind: 'none' } | { kind: 'text'; text: string } | { kind: 'bytes'; bytes: Buffer };

function bodyArb(schemas: Schema[], wrappers: string[]): fc.Arbitrary<BodySpec> {
  const valid: fc.Arbitrary<unknown> =
    schemas.length > 0
      ? fc.oneof(...schemas.map((s) => fromSchema(s)))
      : fc.oneof(
          fc.constantFrom(...(wrappers.length > 0 ? wrappers : ['x'])).chain((w) =>
            fc.jsonValue({ maxDepth: 3 }).map((v) => ({ [w]: v })),
          ),
          fc.jsonValue({ maxDepth: 3 }),
        );
  const json = (a: fc.Arbitrary<unknown>): fc.Arbitrary<BodySpec> => a.map((v) => ({ kind: 'text', text: JSON.stringify(v) ?? 'null' }));
  return fc.oneof(
    { weight: 3, arbitrary: json(valid) },
    {
      weight: 4,
      arbitrary: json(
        fc.tuple(valid, fc.array(fc.nat(), { maxLength: 4 }), hostileValue).map(([b, path, v]) => implant(b, path, v)),
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(valid, fc.constantFrom(...POLLUTION_KEYS), hostileValue)
        .map(([b, k, v]): BodySpec => ({ kind: 'text', text: withKeyText(b, k, v) })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, fc.integer({ min: 30, max: 5000 }), fc.boolean()).map(([b, depth, arrays]): BodySpec => {
        const open = arrays ? '['.repeat(depth) : '{"a":'.repeat(depth);
        const close = arrays ? ']'.repeat(depth) : '}'.repeat(depth);
        const top = b !== null && typeof b === 'object' && !Array.isArray(b) ? Object.keys(b)[0] : undefined;
        return { kind: 'text', text: top ? `{${JSON.stringify(top)}: ${open}1${close}}` : `${open}1${close}` };
      }),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<BodySpec>(
        { kind: 'bytes', bytes: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]) },
        { kind: 'bytes', bytes: Buffer.from([0x7b, 0x22, 0xc3, 0x22, 0x3a, 0x31, 0x7d]) },
        { kind: 'bytes', bytes: Buffer.from([0xed, 0xa0, 0x80]) },
        { kind: 'text', text: '{"volume": {"name": "\\ud800\\udc00\\udbff"}}' },
        { kind: 'text', text: '{"a": "\\u0000"}' },
        { kind: 'text', text: '{"a": 1' },
        { kind: 'text', text: '{"a": 1}{"b": 2}' },
        { kind: 'text', text: '' },
        { kind: 'text', text: 'null' },
        { kind: 'text', text: '[]' },
        { kind: 'text', text: '"string"' },
        { kind: 'text', text: '1e999' },
        { kind: 'none' },
      ),
    },
  );
}

/** The request schemas a route takes, found by its method and path (CBR has none: its wrapper keys instead). */
function schemasFor(method: string, url: string): { schemas: Schema[]; wrappers: string[] } {
  const s = (...xs: object[]) => ({ schemas: xs as Schema[], wrappers: [] });
  const m = `${method} ${url.replace(/^\/(v2|v3)(\/:project_id)?/, '/BS')}`;
  const rules: Array<[RegExp, () => { schemas: Schema[]; wrappers: string[] }]> = [
    [/^POST \/BS\/volumes$/, () => s(contract.volumeCreateStrict, contract.volumeCreateLenient)],
    [/^PUT \/BS\/volumes\/:id$/, () => s(contract.volumeUpdateStrict, contract.volumeUpdateLenient)],
    [/^POST \/BS\/snapshots$/, () => s(contract.snapshotCreate)],
    [/^PUT \/BS\/snapshots\/:id$/, () => s(contract.snapshotUpdate)],
    [/^(POST|PUT) \/BS\/(volumes|snapshots)\/:id\/metadata$/, () => s(contract.metadataBody)],
    [/^PUT \/BS\/(volumes|snapshots)\/:id\/metadata\/:key$/, () => s(contract.metadataItemBody)],
    [
      /^POST \/BS\/volumes\/:id\/action$/,
      () =>
        s(
          contract.extendAction,
          contract.resetVolumeStatusAction,
          contract.attachAction,
          contract.detachAction,
          contract.connectorAction,
          contract.terminateAction,
          contract.bootableAction,
          contract.readonlyAction,
          contract.revertAction,
          { type: 'object', properties: { 'os-reserve': { type: 'null' } }, required: ['os-reserve'] },
          { type: 'object', properties: { 'os-force_delete': { type: 'object' } }, required: ['os-force_delete'] },
        ),
    ],
    [/^POST \/BS\/snapshots\/:id\/action$/, () => s(contract.snapshotResetStatusAction, contract.updateSnapshotStatusAction)],
    [/^POST \/BS\/backups$/, () => s(contract.backupCreate, contract.backupCreateV343, contract.backupCreateV351)],
    [/^PUT \/BS\/backups\/:id$/, () => s(contract.backupUpdate, contract.backupUpdateV343)],
    [/^POST \/BS\/backups\/:id\/restore$/, () => s(contract.backupRestore)],
    [/^POST \/BS\/backups\/import_record$/, () => s(contract.backupImport)],
    [/^POST \/BS\/backups\/:id\/action$/, () => s(contract.backupResetStatus)],
    [/^POST \/BS\/cinderbox-repo\/verify$/, () => s(contract.repoVerify)],
    [/^POST \/BS\/cinderbox-repo\/gc$/, () => s(contract.repoGc)],
    [/^POST \/BS\/(os-snapshot-manage|manageable_snapshots)$/, () => s(contract.snapshotManageBody)],
    [/^POST \/BS\/(os-volume-manage|manageable_volumes)$/, () => s(contract.volumeManageBody, contract.volumeManageBodyV316)],
    [/^POST \/identity\/v3\/projects$/, () => s(contract.projectCreate)],
    [/^PATCH \/identity\/v3\/projects\/:id$/, () => s(contract.projectUpdate)],
    [/^POST \/identity\/v3\/users$/, () => s(contract.userCreate)],
    [/^PATCH \/identity\/v3\/users\/:id$/, () => s(contract.userUpdate)],
    [/^POST \/identity\/v3\/users\/:id\/password$/, () => s(contract.passwordChange)],
    [/^POST \/identity\/v3\/auth\/tokens$/, () => s(contract.authBody)],
    [/^POST \/BS\/cinderbox-repo\/jobs$/, () => s(contract.repoJobCreate)],
    [/^PUT \/BS\/os-quota-sets/, () => ({ schemas: [], wrappers: ['quota_set'] })],
    [/^POST \/cbr\/v3\/:project_id\/vaults$/, () => ({ schemas: [], wrappers: ['vault'] })],
    [/^PUT \/cbr\/v3\/:project_id\/vaults\/:vault_id$/, () => ({ schemas: [], wrappers: ['vault'] })],
    [/^POST \/cbr\/.*resources$/, () => ({ schemas: [], wrappers: ['resources', 'resource_ids', 'destination_vault_id'] })],
    [/^POST \/cbr\/.*policy$/, () => ({ schemas: [], wrappers: ['policy_id'] })],
    [/^(POST|PUT) \/cbr\/v3\/:project_id\/policies/, () => ({ schemas: [], wrappers: ['policy'] })],
    [/^POST \/cbr\/v3\/:project_id\/checkpoints$/, () => ({ schemas: [], wrappers: ['checkpoint'] })],
    [/^POST \/cbr\/.*tags(\/action)?$/, () => ({ schemas: [], wrappers: ['tag', 'tags', 'action'] })],
    [/^POST \/cbr\/.*\/restore$/, () => ({ schemas: [], wrappers: ['restore'] })],
    [/^(POST|PUT) \/cbr\/.*members/, () => ({ schemas: [], wrappers: ['members', 'member'] })],
  ];
  for (const [re, f] of rules) if (re.test(m)) return f();
  return { schemas: [], wrappers: [] };
}

// ---------------------------------------------------------------------------------------------------------------
// Paths, queries, headers

/** Percent-encoding that also takes lone surrogates (encodeURIComponent throws on them): their UTF-8 bytes. */
function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  }
}

const garbageSegment = fc.oneof(
  fc.uuid(),
  fc.constantFrom('0', '-1', 'null', '__proto__', 'constructor', 'toString', '..', '%2e%2e', 'a'.repeat(300), '%00', '%ff', '%ed%a0%80'),
  fc.string({ maxLength: 12 }).map(enc),
  fc.string({ unit: 'binary', maxLength: 8 }).map(enc),
);

/** A plausible value for a path parameter: the fixture it names (mostly), or garbage. */
function paramArb(url: string, name: string, caller: Caller): fc.Arbitrary<string> {
  let valid: string | null = null;
  if (name === 'project_id') valid = caller.projectId;
  else if (url.startsWith('/identity')) {
    if (name === 'id' && url.includes('/projects/')) valid = fx.victimProject;
    else if (name === 'id' && url.includes('/users/')) valid = fx.victimUser;
    else if (name === 'id' && url.includes('/roles/')) valid = fx.role;
    else if (name === 'projectId') valid = fx.victimProject;
    else if (name === 'userId') valid = fx.victimUser;
    else if (name === 'roleId') valid = fx.role;
    else if (name === 'domainId') valid = 'default';
  } else if (name === 'id') {
    valid = url.includes('/snapshots/') ? fx.snapshot : url.includes('/backups/') ? fx.backup : fx.volume;
  } else if (name === 'key') valid = 'fuzz';
  else if (name === 'type_id') valid = fx.type;
  else if (name === 'target') valid = caller.projectId;
  else if (name === 'name') valid = 'default';
  else if (name === 'vault_id') valid = fx.vault;
  else if (name === 'policy_id') valid = fx.policy;
  else if (name === 'checkpoint_id') valid = fx.checkpoint;
  else if (name === 'backup_id') valid = fx.cbrBackup;
  else if (name === 'operation_log_id') valid = fx.oplog;
  else if (name === 'member_id') valid = fx.victimProject;
  return valid === null ? garbageSegment : fc.oneof({ weight: 3, arbitrary: fc.constant(valid) }, { weight: 1, arbitrary: garbageSegment });
}

const QUERY_KEYS = [
  'limit', 'offset', 'marker', 'sort', 'sort_key', 'sort_dir', 'with_count', 'all_tenants', 'project_id', 'name', 'name~',
  'status', 'metadata', 'created_at', 'updated_at', 'volume_id', 'bootable', 'vault_id', 'resource_id', 'checkpoint_id',
  'domain_id', 'enabled', 'user.id', 'scope.project.id', 'effective', 'include_names', 'is_domain', 'parent_id',
  'usage', 'nocatalog', 'glance_metadata', 'group_id', 'host', 'list_volume', 'start_time', 'end_time', 'object_type',
  ...POLLUTION_KEYS,
];
const QUERY_VALUES = [
  'asc', 'desc', 'sideways', 'name:asc', 'id:desc,created_at', 'name:__proto__', '__proto__:asc', 'constructor', 'toString',
  '1', '0', '-1', '99999999999999999999', '2147483648', '1.5', 'true', 'maybe', '', "{'k': 'v'}", '{"k": {"k": "v"}}',
  `${'['.repeat(1000)}${']'.repeat(1000)}`, 'gt:2020-01-01', 'gt:xx', 'lte:2020-01-01T00:00:00Z,gt:', 'x'.repeat(5000),
];
const PAGING_KEYS = ['sort', 'sort_key', 'sort_dir', 'limit', 'offset', 'marker', 'with_count', 'all_tenants', 'page_size', 'page'];
const PAGING_VALUES = [
  ...POLLUTION_KEYS, ...POLLUTION_KEYS.map((k) => `${k}:asc`), ...POLLUTION_KEYS.map((k) => `name:${k}`),
  'name', 'name:asc', 'id:desc', 'created_at', 'size,status:asc', ':', ',', '-1', '0', '1', '1.5', '1e3', '99999999999999999999', '2147483648',
  'asc', 'desc', 'ASC', '00000000-0000-0000-0000-000000000000', 'true', '',
];
const pagingArb = fc
  .array(fc.tuple(fc.constantFrom(...PAGING_KEYS), fc.constantFrom(...PAGING_VALUES)), { minLength: 1, maxLength: 3 })
  .map((pairs) => pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&'));
const pairsArb = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 6 })),
      fc.oneof(fc.constantFrom(...QUERY_VALUES), fc.constantFrom(...HOSTILE_STRINGS.filter((s) => s.length < 1000)), fc.string({ maxLength: 10 })),
      fc.constantFrom('', '[]', '[a]', '[__proto__]'),
    ),
    { maxLength: 5 },
  )
  .map((pairs) => {
    // Node's parser refuses heads over 16 KiB before the app sees them (431 and a reset); stay under it.
    const parts = pairs.map(([k, v, suffix]) => `${enc(k)}${suffix}=${enc(v)}`);
    while (parts.join('&').length > 12_000) parts.pop();
    return parts.join('&');
  });
const queryArb = fc.oneof(pairsArb, pagingArb);

/** Mostly a well-formed value, so most requests get past negotiation to the handler; sometimes a bad one. */
const mostly = (good: string, bad: string[]) => fc.oneof({ weight: 4, arbitrary: fc.constant(good) }, { weight: 1, arbitrary: fc.constantFrom(...bad) });

const headerArb = fc.record(
  {
    'OpenStack-API-Version': fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('volume 3.0', 'volume 3.27', 'volume 3.43', 'volume 3.60', 'volume 3.71', 'volume latest') },
      { weight: 1, arbitrary: fc.constantFrom('volume 3.999', 'volume 4.0', 'volume x', 'compute 2.1', '', 'volume 3.-1', 'volume 03.010', 'volume 3.0, volume 3.5') },
    ),
    Range: fc.constantFrom('bytes=0-0', 'bytes=0-', 'bytes=-1', 'bytes=99999999999999-', 'bytes=5-1', 'bytes=a-b', 'bytes=0-1,4-5', 'items=0-1', ''),
    'Content-Range': fc.constantFrom('bytes 0-0/*', 'bytes 0-3/1073741824', 'bytes 512-1023/*', 'bytes 0-9999999999/*', 'bytes */*', 'junk'),
    'Content-Type': mostly('application/json', ['application/json; charset=latin1', 'text/plain', 'application/octet-stream', 'multipart/form-data; boundary=x', 'application/vnd.openstack.volume+json', '']),
    'X-OpenStack-Request-Id': fc.constantFrom('req-not-a-uuid', 'req-00000000-0000-0000-0000-000000000000'),
    'X-Subject-Token': fc.constantFrom('gAAAA', 'x'.repeat(2000), ''),
  },
  { requiredKeys: ['Content-Type'] },
);

/** One request over a fresh connection (fetch refuses bodies on GET and DELETE; hostile clients do not). */
function send(method: string, path: string, headers: Record<string, string>, body: string | Buffer | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(t.url);
    // Content-Length always: node sends a GET's body without framing otherwise.
    const length = body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(body)) };
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, headers: { ...headers, ...length, Connection: 'close' } }, (res) => {
      const parts: Buffer[] = [];
      let length = 0;
      const done = () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') });
      // The event stream never ends: what is checked is that it opened.
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        res.destroy();
        done();
        return;
      }
      res.on('data', (d: Buffer) => {
        parts.push(d);
        length += d.length;
        // A volume's bytes (a GiB) are not read to the end: what a check needs is at the start.
        if (length > 1024 * 1024) {
          res.destroy();
          done();
        }
      });
      res.on('end', done);
      res.on('error', (e) => (length > 1024 * 1024 ? undefined : reject(e)));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Checks

function dialectOf(url: string): 'keystone' | 'cbr' | 'cinder' {
  if (url.startsWith('/identity')) return 'keystone';
  if (url.startsWith('/cbr')) return 'cbr';
  return 'cinder';
}

function assertFault(url: string, status: number, text: string, what: string): void {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    assert.fail(`${what}: ${status} body is not JSON: ${text.slice(0, 200)}`);
  }
  const b = body as Record<string, any>;
  switch (dialectOf(url)) {
    case 'keystone':
      assert.ok(b.error && typeof b.error.message === 'string' && b.error.code === status, `${what}: not a Keystone fault: ${text.slice(0, 300)}`);
      break;
    case 'cbr':
      assert.ok(typeof b.error_code === 'string' && typeof b.error_msg === 'string', `${what}: not a CBR fault: ${text.slice(0, 300)}`);
      break;
    default: {
      const keys = Object.keys(b);
      const f = b[keys[0]!];
      assert.ok(keys.length === 1 && f && typeof f.message === 'string' && f.code === status, `${what}: not a Cinder fault: ${text.slice(0, 300)}`);
      // Cinder itself names a 406 (unsupported microversion) computeFault: it has no fault name for 406.
      if (status !== 406) assert.notEqual(keys[0], 'computeFault', `${what}: a 4xx named computeFault`);
    }
  }
}

/** Statuses that background work moves on from by itself; a digest is only compared once none is left. */
const TRANSIENT = new Set(['creating', 'deleting', 'extending', 'backing-up', 'restoring', 'restoring-backup', 'downloading', 'uploading', 'retyping', 'reverting', 'managing', 'protecting']);

/** What a refused request must not have changed: every resource's id, status and visible fields, across projects. */
async function digest(): Promise<{ text: string; settled: boolean }> {
  const a = admin;
  const gets = [
    `/v3/${a.projectId}/volumes/detail?all_tenants=1`,
    `/v3/${a.projectId}/snapshots/detail?all_tenants=1`,
    `/v3/${a.projectId}/backups/detail?all_tenants=1`,
    `/v3/${a.projectId}/qos-specs`,
    `/v3/${a.projectId}/types`,
    `/cbr/v3/${member.projectId}/vaults`,
    `/cbr/v3/${member.projectId}/policies`,
    // CBR backups too: one an accepted delete left `deleting` changes its vault's backup_count when it goes.
    `/cbr/v3/${member.projectId}/backups`,
    `/identity/v3/projects`,
    `/identity/v3/users`,
    `/identity/v3/role_assignments`,
  ];
  const parts: unknown[] = [];
  let settled = true;
  for (const path of gets) {
    const token = path.startsWith('/cbr') ? member.token : a.token;
    const r = await t.request('GET', path, { token, mv: '3.0' });
    if (r.status >= 400) {
      parts.push({ path, status: r.status });
      continue;
    }
    const strip = (x: unknown): unknown => {
      if (Array.isArray(x)) return x.map(strip);
      if (x === null || typeof x !== 'object') return x;
      const o: Record<string, unknown> = {};
      // Timestamps and progress move without a request (task engine, scheduler); they are not what a 4xx may change.
      for (const [k, v] of Object.entries(x)) if (!/updated_at|progress|links|used/.test(k)) o[k] = strip(v);
      if (typeof o.status === 'string' && TRANSIENT.has(o.status)) settled = false;
      return o;
    };
    parts.push(strip(r.body));
  }
  return { text: JSON.stringify(parts), settled };
}

async function settledDigest(): Promise<string> {
  return (await waitFor(async () => {
    const d = await digest();
    return d.settled ? d.text : null;
  }, 'every resource out of its transient status', 60_000)) as string;
}

// ---------------------------------------------------------------------------------------------------------------

async function waitStatus(path: string, key: string, who: Caller, want: string): Promise<void> {
  await waitFor(async () => {
    const r = await t.request('GET', path, { token: who.token });
    return r.body?.[key]?.status === want;
  }, `${path} ${want}`, 60_000);
}

before(async () => {
  t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] });
  admin = { name: 'admin', token: t.adminToken, projectId: t.adminProjectId };
  const m = await t.createMember('fuzz-member');
  member = { name: 'member', token: m.token, projectId: m.projectId };
  const victim = await t.createMember('fuzz-victim');
  const P = member.projectId;
  const ok = (r: { status: number; text: string }, what: string) => assert.ok(r.status < 300, `${what}: ${r.status} ${r.text}`);

  const v = await t.request('POST', `/v3/${P}/volumes`, { token: member.token, body: { volume: { size: 1, name: 'fuzz', metadata: { fuzz: 'x' } } } });
  ok(v, 'volume');
  const volume = v.body.volume.id as string;
  await waitStatus(`/v3/${P}/volumes/${volume}`, 'volume', member, 'available');
  const s = await t.request('POST', `/v3/${P}/snapshots`, { token: member.token, body: { snapshot: { volume_id: volume, metadata: { fuzz: 'x' } } } });
  ok(s, 'snapshot');
  await waitStatus(`/v3/${P}/snapshots/${s.body.snapshot.id}`, 'snapshot', member, 'available');
  const b = await t.request('POST', `/v3/${P}/backups`, { token: member.token, body: { backup: { volume_id: volume } } });
  ok(b, 'backup');
  await waitStatus(`/v3/${P}/backups/${b.body.backup.id}`, 'backup', member, 'available');
  const vault = await t.request('POST', `/cbr/v3/${P}/vaults`, {
    token: member.token,
    body: { vault: { name: 'fuzz', billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 10 }, resources: [{ id: volume, type: 'OS::Cinder::Volume' }] } },
  });
  ok(vault, 'vault');
  const policy = await t.request('POST', `/cbr/v3/${P}/policies`, {
    token: member.token,
    body: { policy: { name: 'fuzz', operation_type: 'backup', enabled: false, operation_definition: { max_backups: 2 }, trigger: { properties: { pattern: ['FREQ=DAILY;INTERVAL=1;BYHOUR=3;BYMINUTE=0'] } } } },
  });
  ok(policy, 'policy');
  const cp = await t.request('POST', `/cbr/v3/${P}/checkpoints`, { token: member.token, body: { checkpoint: { vault_id: vault.body.vault.id, parameters: {} } } });
  ok(cp, 'checkpoint');
  await waitFor(async () => {
    const r = await t.request('GET', `/cbr/v3/${P}/checkpoints/${cp.body.checkpoint.id}`, { token: member.token });
    return ['available', 'error'].includes(r.body?.checkpoint?.status);
  }, 'checkpoint done', 60_000);
  const cbrBackups = await t.request('GET', `/cbr/v3/${P}/backups`, { token: member.token });
  const oplogs = await t.request('GET', `/cbr/v3/${P}/operation-logs`, { token: member.token });
  const roles = await t.request('GET', '/identity/v3/roles?name=member', { token: admin.token });
  const types = await t.request('GET', `/v3/${P}/types`, { token: member.token });
  fx = {
    volume,
    snapshot: s.body.snapshot.id,
    backup: b.body.backup.id,
    vault: vault.body.vault.id,
    policy: policy.body.policy.id,
    checkpoint: cp.body.checkpoint.id,
    cbrBackup: cbrBackups.body?.backups?.[0]?.id ?? '00000000-0000-0000-0000-000000000000',
    oplog: oplogs.body?.operation_logs?.[0]?.id ?? '00000000-0000-0000-0000-000000000000',
    victimProject: victim.projectId,
    victimUser: victim.userId,
    role: roles.body.roles[0].id,
    type: types.body.volume_types[0].id,
  };
});
after(async () => t?.close());

test('no generated request to any route gets a 5xx, a fault of the wrong dialect, or changes anything when refused', async () => {
  console.log(`fuzz: seed ${SEED}, ${RUNS} requests per route and caller (FUZZ_SEED / FUZZ_RUNS change them)`);
  const order = (m: string) => (m === 'GET' ? 0 : m === 'DELETE' ? 2 : 1);
  // Reads first, deletes last: the fixtures live as long as possible.
  // HEAD (fastify adds one to every GET) answers as its GET does.
  const routes = t.server.routes.filter((r) => r.method !== 'HEAD').sort((a, b) => order(a.method) - order(b.method));
  assert.ok(routes.length > 100, `the route table lists ${routes.length} routes`);
  let current = await settledDigest();
  let requests = 0;
  const seen = new Map<number, number>();
  for (const route of routes) {
    for (const caller of [admin, member]) {
      const params = [...route.url.matchAll(/:(\w+)/g)].map((mm) => mm[1]!);
      const { schemas, wrappers } = schemasFor(route.method, route.url);
      const arb = fc.record({
        params: fc.tuple(...params.map((p) => paramArb(route.url, p, caller)), fc.constant('')),
        query: fc.oneof({ weight: 1, arbitrary: fc.constant('') }, { weight: 2, arbitrary: queryArb }),
        headers: headerArb,
        body: route.method === 'GET' || route.method === 'DELETE' ? fc.oneof({ weight: 5, arbitrary: fc.constant<BodySpec>({ kind: 'none' }) }, { weight: 1, arbitrary: bodyArb([], []) }) : bodyArb(schemas, wrappers),
        token: fc.oneof({ weight: 12, arbitrary: fc.constant<string | null>(caller.token) }, { weight: 1, arbitrary: fc.constantFrom<string | null>(null, 'x', 'gAAAAA'.repeat(50)) }),
      });
      // Sampled rather than fc.assert-ed: every request goes to one live server, so shrinking would replay side
      // effects; a failure names the request instead, and the seed reproduces it.
      for (const req of fc.sample(arb, { seed: SEED + requests, numRuns: RUNS })) {
        let i = 0;
        const path = route.url.replace(/:(\w+)/g, () => req.params[i++]!);
        const url = `${path}${req.query ? `?${req.query}` : ''}`;
        const mutating = route.method !== 'GET';
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        if (req.token) headers['X-Auth-Token'] = req.token;
        let body: string | Buffer | undefined;
        if (req.body.kind === 'text') body = req.body.text;
        else if (req.body.kind === 'bytes') body = req.body.bytes;
        if (body !== undefined) headers['Content-Type'] ??= 'application/json';
        if (mutating && current === '') current = await settledDigest();
        const res = await send(route.method, url, headers, body).catch((e: Error) => {
          throw new Error(`${caller.name} ${route.method} ${url.slice(0, 200)} [${JSON.stringify(headers).slice(0, 300)}] body ${String(body).slice(0, 200)}: ${e.message}`);
        });
        const text = res.text;
        requests++;
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        const what = `${caller.name} ${route.method} ${url.slice(0, 200)} [${JSON.stringify(headers).slice(0, 300)}] body ${String(body).slice(0, 200)}`;
        // Cinder's one 5xx for input: managing onto a host or cluster it does not know is 503 ServiceUnavailable
        // (cinder/api/contrib/volume_manage.py turns ServiceNotFound into it), which clients expect.
        const unknownHost = res.status === 503 && /os-volume-manage|manageable_volumes/.test(path) && /"(Host|Cluster) '.*' not found"/.test(text);
        assert.ok(res.status < 500 || unknownHost, `${what}: ${res.status} ${text.slice(0, 400)}`);
        // 431: node's HTTP parser refuses the head before any route (or dialect) is known; fastify answers it.
        if (res.status >= 400 && res.status !== 431) assertFault(path, res.status, text, what);
        if (!mutating) continue;
        if (res.status >= 400) {
          const now = await settledDigest();
          assert.equal(now, current, `${what}: answered ${res.status} but changed the store`);
        } else {
          current = '';
        }
      }
    }
  }
  console.log(`fuzz: ${requests} requests over ${routes.length} routes; statuses ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
});
