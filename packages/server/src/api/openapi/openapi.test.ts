/**
 * The published documents: each is a valid OpenAPI 3.1 document, served without a token, and the routes the
 * server registers are exactly the operations the documents list.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { API_MOUNTS, type ApiName, openApiDocument } from '@cinderbox/api-schema';
import { startTestServer, type TestServer } from '../../test-support/harness.js';
import { SERVED_OPERATIONS } from './operations.js';

const APIS: ApiName[] = ['block-storage', 'cbr', 'identity'];

/** `GET /v3/{}/volumes/{}`: method and path with parameter names erased and no trailing slash. */
function shape(method: string, path: string): string {
  const p = path.replace(/:[^/]+/g, '{}').replace(/\{[^}]+\}/g, '{}').replace(/(.)\/$/, '$1');
  return `${method} ${p}`;
}

function apiOf(url: string): ApiName {
  if (url === API_MOUNTS.cbr || url.startsWith(`${API_MOUNTS.cbr}/`)) return 'cbr';
  if (url === API_MOUNTS.identity || url.startsWith(`${API_MOUNTS.identity}/`)) return 'identity';
  return 'block-storage';
}

/**
 * The document path a registered route is listed under. Block Storage routes exist three times (project-scoped
 * v3, project-less v3 and v2); the documents list the project-scoped v3 form and say the others exist.
 */
function documentedShape(method: string, url: string): { api: ApiName; key: string } {
  const api = apiOf(url);
  let path = url.slice(API_MOUNTS[api].length) || '/';
  if (api === 'block-storage') path = path.replace(/^\/v2\/:project_id(?=\/)/, '/v3/:project_id').replace(/^\/v3(?=\/[^:])/, '/v3/:project_id');
  return { api, key: shape(method, path) };
}

describe('OpenAPI documents', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
  });
  after(async () => {
    await ts?.close();
  });

  for (const api of APIS) {
    it(`/openapi/${api}.json is served without a token and is a valid OpenAPI 3.1 document`, async () => {
      const res = await ts.request('GET', `/openapi/${api}.json`);
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const validator = new Validator();
      const result = await validator.validate(res.body);
      assert.deepEqual(result.errors ?? [], [], `${api}: ${JSON.stringify(result.errors, null, 1)}`);
      assert.equal(result.valid, true);
      assert.equal(validator.version, '3.1');
      assert.equal(res.body.openapi, '3.1.0');
    });
  }

  it('the validator refuses a broken document (so its passing means something)', async () => {
    const doc = openApiDocument('identity', SERVED_OPERATIONS.identity) as { paths: Record<string, Record<string, { parameters?: unknown[] }>> };
    doc.paths['/v3/auth/tokens']!.post!.parameters = [{ name: 'nocatalog', schema: { type: 'string' } }]; // no `in`
    const result = await new Validator().validate(doc as never);
    assert.equal(result.valid, false);
  });

  it('the reference pages are served without a token, with no script and nothing fetched from elsewhere', async () => {
    const bare = await fetch(`${ts.url}/openapi`, { redirect: 'manual' });
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.get('location'), '/openapi/');
    const index = await ts.request('GET', '/openapi/');
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
    for (const api of APIS) {
      assert.ok(index.text.includes(`href="${api}.html"`), `index links ${api}`);
      const page = await ts.request('GET', `/openapi/${api}.html`);
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.text, /<script|<link|src=|https?:\/\/(?!docs\.openstack)/i);
    }
    const bs = await ts.request('GET', '/openapi/block-storage.html');
    assert.ok(bs.text.includes('id="op-volumeCreate"'), 'the volume create operation has its section');
    assert.ok(bs.text.includes('microversion 3.27+'), 'microversion ranges are shown');
  });

  it('block storage operations and fields carry their microversion range', async () => {
    const doc = (await ts.request('GET', '/openapi/block-storage.json')).body;
    assert.deepEqual(doc.paths['/v3/{project_id}/attachments'].post['x-openstack-microversion'], { min: '3.27' });
    const variants = doc.paths['/v3/{project_id}/backups'].post.requestBody.content['application/json'].schema.anyOf;
    assert.deepEqual(variants.map((v: { 'x-openstack-microversion': unknown }) => v['x-openstack-microversion']), [
      { min: '3.0', max: '3.42' },
      { min: '3.43', max: '3.50' },
      { min: '3.51' },
    ]);
    const volume = doc.components.schemas.Volume;
    assert.deepEqual(volume.properties.consumes_quota['x-openstack-microversion'], { min: '3.65' });
    assert.match(volume.properties.consumes_quota.description, /3\.65/);
  });

  /** Per API: the shapes of the routes the server registered, and which of them answer without a token. */
  function servedRoutes(): { registered: Map<ApiName, Set<string>>; publicRoutes: Set<string> } {
    const registered = new Map<ApiName, Set<string>>(APIS.map((a) => [a, new Set()]));
    const publicRoutes = new Set<string>();
    for (const r of ts.server.routes) {
      if (r.method === 'HEAD' || /^\/(openapi|console)(\/|$)/.test(r.url)) continue; // HEAD follows GET; the documents and the console's pages
      const { api, key } = documentedShape(r.method, r.url);
      registered.get(api)!.add(key);
      if (r.policy.access === 'public') publicRoutes.add(`${api} ${key}`);
    }
    return { registered, publicRoutes };
  }

  for (const api of APIS) {
    it(`${api}: every registered route is in the document, and every documented operation is a registered route`, () => {
      const ops = SERVED_OPERATIONS[api];
      const { registered, publicRoutes } = servedRoutes();
      const served = registered.get(api)!;
      const problems: string[] = [];
      const documented = new Set<string>();
      for (const op of ops) {
        const key = shape(op.method, op.path);
        documented.add(key);
        if (!served.has(key)) problems.push(`documented but not served: ${op.method} ${op.path} (${op.id})`);
        if (Boolean(op.public) !== publicRoutes.has(`${api} ${key}`)) problems.push(`${op.id} is ${op.public ? '' : 'not '}public in the contract, the server differs`);
      }
      for (const key of served) if (!documented.has(key)) problems.push(`served but not documented: ${key}`);
      assert.deepEqual(problems, []);
      // A comparison of two empty sets would pass too.
      assert.ok(served.size >= 20, `${served.size} ${api} routes found`);
    });
  }
});
