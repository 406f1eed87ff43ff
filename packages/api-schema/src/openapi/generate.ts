/**
 * OpenAPI 3.1 documents from the contract's operation lists. Schemas that carry a `title` are reused, so they
 * become components and are referenced; the microversion range of an operation, a request-body variant or a
 * field is kept as `x-openstack-microversion` and also said in its description.
 */
import { MICROVERSION_KEYWORD } from '../block-storage/common.js';
import { CbrErrorSchema, CinderFaultSchema, KeystoneErrorSchema } from '../errors.js';
import { BLOCK_STORAGE_MAX_MICROVERSION, BLOCK_STORAGE_MIN_MICROVERSION, describeVersionRange } from '../microversions.js';
import type { ApiName, Operation, VersionRange } from '../operation.js';

/** The extension field naming an operation's, a body variant's or a field's microversion range. */
export const MICROVERSION_EXTENSION = MICROVERSION_KEYWORD;

/** Where each API is mounted on a cinderbox server; the documents' paths are below it. */
export const API_MOUNTS: Readonly<Record<ApiName, string>> = { 'block-storage': '', cbr: '/cbr', identity: '/identity' };

const TITLES: Record<ApiName, string> = {
  'block-storage': 'cinderbox Block Storage API (OpenStack Cinder v3)',
  cbr: 'cinderbox Cloud Backup and Recovery API (CBR v3)',
  identity: 'cinderbox Identity API (Keystone v3 subset)',
};

const DESCRIPTIONS: Record<ApiName, string> = {
  'block-storage':
    `OpenStack Block Storage v3 with microversions ${BLOCK_STORAGE_MIN_MICROVERSION} to ${BLOCK_STORAGE_MAX_MICROVERSION}, asked for with ` +
    '`OpenStack-API-Version: volume 3.x` (no header means 3.0). Every `/v3/{project_id}/…` path also answers as `/v3/…` ' +
    '(the project taken from the token, microversion 3.67 and later) and, for what v2 had, as `/v2/{project_id}/…`. ' +
    'Errors are Cinder faults: `{"itemNotFound": {"code": 404, "message": "…"}}`.',
  cbr: 'Cloud Backup and Recovery v3 (vaults, policies, checkpoints, backups, restores, replication). Errors are `{"error_code", "error_msg"}`.',
  identity: 'The subset of Keystone v3 that OpenStack clients need: tokens, projects, users, roles and grants. Errors are `{"error": {"code", "title", "message"}}`.',
};

const ERROR_SCHEMAS: Record<ApiName, object> = { 'block-storage': CinderFaultSchema, cbr: CbrErrorSchema, identity: KeystoneErrorSchema };

type Json = Record<string, unknown>;

function plain(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema)) as unknown;
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Json).sort(([a], [b]) => a.localeCompare(b))) : x,
  );
}

function withRangeNote(description: unknown, range: VersionRange): string {
  const note = `Applies to ${describeVersionRange(range)}.`;
  return typeof description === 'string' && description !== '' ? `${description} ${note}` : note;
}

/** Collects titled schemas into `components`, replacing each use with a `$ref`, and words each microversion range. */
class Components {
  readonly schemas: Record<string, unknown> = {};
  private readonly seen = new Map<string, string>();

  /** The JSON of `schema` with titled sub-schemas moved out. */
  use(schema: unknown): unknown {
    return this.walk(plain(schema));
  }

  private walk(node: unknown): unknown {
    if (Array.isArray(node)) return node.map((x) => this.walk(x));
    if (!node || typeof node !== 'object') return node;
    const obj = node as Json;
    const out: Json = {};
    for (const [k, v] of Object.entries(obj)) {
      // `properties`, `patternProperties` and `$defs` map names to schemas; names are not schemas themselves.
      if ((k === 'properties' || k === 'patternProperties' || k === '$defs') && v && typeof v === 'object') {
        out[k] = Object.fromEntries(Object.entries(v as Json).map(([name, s]) => [name, this.walk(s)]));
      } else if (k === 'enum' || k === 'const' || k === 'required' || k === 'examples' || k === MICROVERSION_EXTENSION) {
        out[k] = v;
      } else {
        out[k] = this.walk(v);
      }
    }
    const range = obj[MICROVERSION_EXTENSION] as VersionRange | undefined;
    if (range) out.description = withRangeNote(obj.description, range);
    if (typeof obj.title === 'string') return { $ref: `#/components/schemas/${this.register(obj.title, out)}` };
    return out;
  }

  private register(title: string, schema: Json): string {
    const key = canonical(schema);
    const known = this.seen.get(key);
    if (known) return known;
    let name = title.replace(/[^A-Za-z0-9._-]/g, '');
    for (let i = 2; name in this.schemas; i++) name = `${title}${i}`;
    this.schemas[name] = schema;
    this.seen.set(key, name);
    return name;
  }
}

function pathParameters(path: string): Json[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
}

function queryParameters(query: unknown, components: Components): Json[] {
  const q = plain(query) as { properties?: Json; required?: string[] } | undefined;
  if (!q?.properties) return [];
  return Object.entries(q.properties).map(([name, s]) => {
    const schema = components.use(s) as Json;
    const p: Json = { name, in: 'query', required: q.required?.includes(name) ?? false, schema };
    if (typeof schema.description === 'string') p.description = schema.description;
    return p;
  });
}

function statusDescription(status: number): string {
  return status === 202 ? 'Accepted' : status === 204 ? 'No content' : 'OK';
}

export interface DocumentOptions {
  /** The document's own version (the package's). */
  version?: string;
}

/** The OpenAPI 3.1 document of one API from its operations. */
export function openApiDocument(api: ApiName, operations: readonly Operation[], options: DocumentOptions = {}): Json {
  const components = new Components();
  const errorRef = components.use(ERROR_SCHEMAS[api]);
  const paths: Record<string, Json> = {};
  const tags = new Set<string>();
  for (const op of operations) {
    if (op.api !== api) throw new Error(`operation ${op.id} belongs to ${op.api}, not ${api}`);
    tags.add(op.tag);
    const item = (paths[op.path] ??= {});
    const method = op.method.toLowerCase();
    if (item[method]) throw new Error(`${op.method} ${op.path} is listed twice (${op.id})`);
    const o: Json = { operationId: op.id, summary: op.summary, tags: [op.tag] };
    if (op.versions) {
      o[MICROVERSION_EXTENSION] = op.versions;
      o.description = `Available at ${describeVersionRange(op.versions)}.`;
    }
    if (op.public) o.security = [];
    const parameters = [...pathParameters(op.path), ...(op.query ? queryParameters(op.query, components) : [])];
    if (api === 'block-storage') parameters.push({ $ref: '#/components/parameters/microversion' });
    if (parameters.length > 0) o.parameters = parameters;
    if (op.bodies && op.bodies.length > 1) {
      const variants = op.bodies.map((b) => {
        const s = components.use(b.schema) as Json;
        return { ...s, [MICROVERSION_EXTENSION]: b.versions, description: withRangeNote(s.description, b.versions) };
      });
      o.requestBody = { required: true, content: { 'application/json': { schema: { anyOf: variants } } } };
    } else if (op.body) {
      o.requestBody = { required: false, content: { 'application/json': { schema: components.use(op.body) } } };
    }
    const responses: Json = {};
    for (const r of op.responses) {
      responses[String(r.status)] = {
        description: r.description || statusDescription(r.status),
        ...(r.body ? { content: { 'application/json': { schema: components.use(r.body) } } } : {}),
      };
    }
    responses.default = { description: 'An error, in the API’s error format', content: { 'application/json': { schema: errorRef } } };
    o.responses = responses;
    item[method] = o;
  }
  const componentsOut: Json = {
    schemas: components.schemas,
    securitySchemes: { token: { type: 'apiKey', in: 'header', name: 'X-Auth-Token', description: 'A Keystone token from POST /identity/v3/auth/tokens.' } },
  };
  if (api === 'block-storage') {
    componentsOut.parameters = {
      microversion: {
        name: 'OpenStack-API-Version',
        in: 'header',
        required: false,
        description: `\`volume 3.x\` (${BLOCK_STORAGE_MIN_MICROVERSION} to ${BLOCK_STORAGE_MAX_MICROVERSION}) or \`volume latest\`; absent means 3.0.`,
        schema: { type: 'string', pattern: '^volume (latest|3\\.[0-9]+)$' },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: TITLES[api], version: options.version ?? '0.1.0', description: DESCRIPTIONS[api] },
    servers: [{ url: API_MOUNTS[api] || '/' }],
    security: [{ token: [] }],
    tags: [...tags].map((name) => ({ name })),
    paths,
    components: componentsOut,
  };
}
