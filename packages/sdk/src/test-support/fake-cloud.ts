/**
 * A tiny programmable HTTP server for unit tests: plays Keystone and a Cinder endpoint on 127.0.0.1:0.
 * Test-only (excluded from the build).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type RouteHandler = (req: RecordedRequest, match: RegExpMatchArray) => Reply | Promise<Reply>;

export const PROJECT_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

export interface FakeCloud {
  url: string;
  requests: RecordedRequest[];
  route(method: string, path: RegExp, handler: RouteHandler): void;
  /** Number of tokens issued. */
  tokensIssued(): number;
  /** Makes the given token invalid (next request with it gets 401). */
  revoke(token: string): void;
  close(): Promise<void>;
}

export interface FakeCloudOptions {
  maxMicroversion?: string;
  /** Catalog service types for the block-storage endpoint. */
  catalogTypes?: Array<{ type: string; path: string }>;
  tokenDelayMs?: number;
}

export async function startFakeCloud(options: FakeCloudOptions = {}): Promise<FakeCloud> {
  const routes: Array<{ method: string; path: RegExp; handler: RouteHandler }> = [];
  const requests: RecordedRequest[] = [];
  const revoked = new Set<string>();
  let issued = 0;
  let base = '';

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', 'http://x');
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: u.pathname,
      query: u.searchParams,
      headers: req.headers,
      body: text ? JSON.parse(text) : undefined,
    };
    requests.push(rec);
    const send = (r: Reply) => {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'x-openstack-request-id': `req-${requests.length.toString().padStart(8, '0')}-0000-4000-8000-000000000000`,
        ...(r.headers ?? {}),
      };
      res.writeHead(r.status ?? 200, headers);
      res.end(r.body === undefined ? '' : JSON.stringify(r.body));
    };
    if (rec.method === 'POST' && rec.path === '/identity/v3/auth/tokens') {
      if (options.tokenDelayMs) await new Promise((r) => setTimeout(r, options.tokenDelayMs));
      const body = rec.body as { auth: { identity: { password?: { user: { password: string } } } } };
      if (body.auth.identity.password && body.auth.identity.password.user.password !== 'secret') {
        send({ status: 401, body: { error: { code: 401, title: 'Unauthorized', message: 'bad password' } } });
        return;
      }
      issued++;
      const types = options.catalogTypes ?? [
        { type: 'block-storage', path: `/v3/${PROJECT_ID}` },
        { type: 'volumev3', path: `/v3/${PROJECT_ID}` },
        { type: 'volumev2', path: `/v2/${PROJECT_ID}` },
      ];
      send({
        status: 201,
        headers: { 'x-subject-token': `tok-${issued}` },
        body: {
          token: {
            methods: ['password'],
            expires_at: new Date(Date.now() + 3600_000).toISOString(),
            user: { id: 'u1', name: 'admin', domain: { id: 'default', name: 'Default' } },
            project: { id: PROJECT_ID, name: 'admin', domain: { id: 'default', name: 'Default' } },
            roles: [{ id: 'r1', name: 'admin' }],
            catalog: [
              ...types.map((t) => ({
                type: t.type,
                name: 'cinder',
                endpoints: [
                  { interface: 'public', region: 'RegionOne', region_id: 'RegionOne', url: `${base}${t.path}` },
                  {
                    interface: 'internal',
                    region: 'RegionOne',
                    region_id: 'RegionOne',
                    url: `${base}/internal${t.path}`,
                  },
                ],
              })),
              {
                type: 'identity',
                name: 'keystone',
                endpoints: [{ interface: 'public', region: 'RegionOne', url: `${base}/identity/v3` }],
              },
            ],
          },
        },
      });
      return;
    }
    if (rec.method === 'GET' && rec.path === '/') {
      send({
        status: 300,
        body: {
          versions: [
            {
              id: 'v3.0',
              status: 'CURRENT',
              version: options.maxMicroversion ?? '3.70',
              min_version: '3.0',
              links: [{ rel: 'self', href: `${base}/v3/` }],
            },
          ],
        },
      });
      return;
    }
    const token = req.headers['x-auth-token'];
    if (typeof token !== 'string' || revoked.has(token) || !token.startsWith('tok-')) {
      send({ status: 401, body: { error: { code: 401, title: 'Unauthorized', message: 'token' } } });
      return;
    }
    for (const r of routes) {
      const m = rec.path.match(r.path);
      if (r.method === rec.method && m) {
        send(await r.handler(rec, m));
        return;
      }
    }
    send({ status: 404, body: { itemNotFound: { code: 404, message: `no route ${rec.method} ${rec.path}` } } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    route(method, path, handler) {
      routes.push({ method, path, handler });
    },
    tokensIssued: () => issued,
    revoke: (t) => revoked.add(t),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function authFor(cloud: FakeCloud) {
  return {
    authUrl: `${cloud.url}/identity/v3`,
    username: 'admin',
    password: 'secret',
    projectName: 'admin',
    userDomainName: 'Default',
    projectDomainName: 'Default',
  };
}
