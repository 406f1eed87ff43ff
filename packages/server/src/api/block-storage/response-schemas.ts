import { Link, ResourceSummary, Snapshot, Volume } from '@cinderbox/api-schema';
import type { RouteShorthandOptions } from 'fastify';

/**
 * Compiled (fast-json-stringify) serialisers for the hot read routes, built from the contract's response
 * schemas. Off unless CINDERBOX_API_COMPILED_SERIALIZERS=on, because under wrk (bench/api, issue #21) they cost
 * more than V8's JSON.stringify on these bodies: server CPU per GET of one snapshot about the same (89 against 86
 * µs), per detail page of 100 snapshots 18 % more (1224 against 1039 µs). The contract's objects must stay open
 * (extension attributes, keys a later microversion adds) and an open object makes the compiled serialiser walk
 * every key again to find the unlisted ones, and escape each string itself. Kept switchable so that the bench
 * shows the comparison on every run and the question need not be reopened blind.
 */
export function compiledSerializersEnabled(): boolean {
  return process.env.CINDERBOX_API_COMPILED_SERIALIZERS === 'on';
}

type Json = Record<string, unknown>;

/**
 * The contract's schema as a serialiser must see it: every object open (fast-json-stringify drops keys a schema
 * does not list unless told otherwise), no `required` (a view that leaves a field out must not turn into a 500)
 * and none of the contract's own annotations.
 */
export function serializerSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(serializerSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema as Json)) {
    if (k === 'required' || k === 'title' || k === 'description' || k.startsWith('x-')) continue;
    // `properties` and `patternProperties` hold field names, not keywords: keep every one of them.
    out[k] = k === 'properties' || k === 'patternProperties' ? mapValues(v as Json) : serializerSchema(v);
  }
  if (out.type === 'object' && out.additionalProperties === undefined) out.additionalProperties = true;
  return out;
}

function mapValues(o: Json): Json {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, serializerSchema(v)]));
}

const one = (key: string, item: unknown) => ({ type: 'object', properties: { [key]: item } });
const page = (key: string, item: unknown) => ({
  type: 'object',
  properties: { [key]: { type: 'array', items: item }, [`${key}_links`]: { type: 'array', items: Link }, count: { type: 'integer' } },
});

/** Route options carrying the 200 serialiser, or none when the switch is off. */
function withResponse(body: unknown): RouteShorthandOptions {
  if (!compiledSerializersEnabled()) return {};
  return { schema: { response: { 200: serializerSchema(body) } } };
}

export const responseOptions = {
  snapshotShow: () => withResponse(one('snapshot', Snapshot)),
  snapshotList: () => withResponse(page('snapshots', Snapshot)),
  volumeShow: () => withResponse(one('volume', Volume)),
  volumeListDetail: () => withResponse(page('volumes', Volume)),
  volumeList: () => withResponse(page('volumes', ResourceSummary)),
};
