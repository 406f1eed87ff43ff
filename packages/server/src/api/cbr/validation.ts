import { cbrContract, cbrOperations, type Operation } from '@cinderbox/api-schema';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { cbrError } from '../../services/cbr/errors.js';

/**
 * CBR's one validation path: every route's body and query string checked against the contract
 * (`@cinderbox/api-schema` `cbrOperations`) before its handler runs. A violation is a CBR 400 whose code is the one
 * the contract names for that schema node (`x-cbr-error-code`: 6101 for a capacity, 6116 for an object type, …),
 * else 9900, "parameter verification failed". Never coerces, strips or defaults: handlers see what was sent.
 */
const ajv = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false, strict: false, verbose: true });

const compiledSchemas = new WeakMap<object, ValidateFunction>();

/**
 * Compiled on first use and kept for the process: compiling all of them up front costs every server start (and
 * every test file) about half a second on this machine, most of it for routes a given run never calls.
 */
function compiled(schema: object): ValidateFunction {
  let fn = compiledSchemas.get(schema);
  if (!fn) compiledSchemas.set(schema, (fn = ajv.compile(schema)));
  return fn;
}

/** `/cbr/v3/:project_id/vaults/:vault_id` (a fastify route) → `/v3/{project_id}/vaults/{vault_id}` (the contract's). */
export function contractPath(routeUrl: string): string {
  return routeUrl.replace(/^\/cbr/, '').replace(/:([A-Za-z_]+)/g, '{$1}');
}

const key = (method: string, path: string) => `${method === 'HEAD' ? 'GET' : method} ${path}`;

const operations = new Map<string, Operation>(cbrOperations.map((op) => [key(op.method, op.path), op]));

type Node = Record<string, unknown> | undefined;

function codeOf(e: ErrorObject): string {
  const node = e.parentSchema as Node;
  let codes: unknown;
  if (e.keyword === 'required') {
    // A missing property answers with the code its own schema names.
    const props = node?.properties as Record<string, Node> | undefined;
    codes = props?.[String(e.params.missingProperty)]?.[cbrContract.CBR_ERROR_CODE];
  } else codes = node?.[cbrContract.CBR_ERROR_CODE];
  if (typeof codes === 'string') return codes;
  if (codes && typeof codes === 'object') return (codes as Record<string, string>)[e.keyword] ?? cbrContract.CBR_INVALID_CODE;
  return cbrContract.CBR_INVALID_CODE;
}

/** `/vault/resources/0/id` → `vault.resources[0].id`. */
function dotted(pointer: string): string {
  return pointer
    .split('/')
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((out, p) => (/^\d+$/.test(p) ? `${out}[${p}]` : out ? `${out}.${p}` : p), '');
}

function messageOf(e: ErrorObject, what: 'body' | 'query'): string {
  const node = e.parentSchema as Node;
  const where = dotted(e.instancePath);
  if (e.keyword === 'required') {
    const name = where ? `${where}.${String(e.params.missingProperty)}` : String(e.params.missingProperty);
    return `${what === 'query' ? 'Query parameter ' : ''}${name} is required.`;
  }
  if (!where && what === 'body') return 'The request body must be a JSON object.';
  const subject = what === 'query' ? `Query parameter ${where}` : where;
  const described = typeof node?.description === 'string' ? node.description : undefined;
  // A pattern is said in words where the contract has them (a regular expression helps no client).
  if (described && (e.keyword === 'pattern' || e.keyword === 'not')) return `${subject} must be ${described}.`;
  return `${subject} ${e.message ?? 'is invalid'}${described ? ` (${described})` : ''}.`;
}

function check(fn: ValidateFunction, value: unknown, what: 'body' | 'query'): void {
  if (fn(value)) return;
  const e = fn.errors?.[0];
  if (!e) throw cbrError('badRequest', cbrContract.CBR_INVALID_CODE, 'Invalid request.');
  throw cbrError('badRequest', codeOf(e), messageOf(e, what));
}

/**
 * Installs the contract on the CBR plugin `r`: a route the contract does not list fails at registration (so the
 * two cannot drift apart), and each request's body and query are checked once it is authenticated and authorized.
 */
export function installCbrContract(r: FastifyInstance): void {
  r.addHook('onRoute', (opts) => {
    const methods = Array.isArray(opts.method) ? opts.method : [opts.method];
    for (const m of methods) {
      if (!operations.has(key(m, contractPath(opts.url)))) throw new Error(`CBR route ${m} ${opts.url} has no operation in cbrOperations`);
    }
  });
  r.addHook('preHandler', async (req: FastifyRequest) => {
    const op = operations.get(key(req.method, contractPath(req.routeOptions.url ?? '')));
    if (!op) return;
    if (op.query) check(compiled(op.query), req.query, 'query');
    if (op.body) check(compiled(op.body), req.body, 'body');
  });
}
