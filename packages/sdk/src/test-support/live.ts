/**
 * Live-server helpers for the SDK integration tests: the real cinderbox server (test harness) on a port-0 socket,
 * SDK connections to it, and a tiny HTTP proxy that can record or answer in front of it.
 * Test-only (excluded from the build); the SDK's own sources never import server code.
 */
import { createServer, type IncomingMessage, request as httpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Connection, type ConnectionOptions } from '../connection.js';

/** The part of the server harness (packages/server/src/test-support/harness.ts) these tests use. */
export interface TestServer {
  url: string;
  /** The server's data directory (tests that break a backend file behind its back). */
  dataDir: string;
  adminToken: string;
  adminProjectId: string;
  request(
    method: string,
    path: string,
    opts?: { token?: string | null; body?: unknown; headers?: Record<string, string>; mv?: string },
  ): Promise<{ status: number; headers: Headers; body: any; text: string }>;
  createMember(name: string): Promise<{ projectId: string; userId: string; token: string }>;
  /** The running server; `routes` is every route it registered, with its access policy. */
  server: { routes: ServedRoute[] };
  close(): Promise<void>;
}

/** One registered route as the server's inventory lists it (packages/server/src/api/common/access.ts). */
export interface ServedRoute {
  method: string;
  url: string;
  policy: { access: string; actions?: Record<string, unknown> };
}

interface Harness {
  ADMIN_PASSWORD: string;
  startTestServer(overrides?: Record<string, unknown>): Promise<TestServer>;
}

// Loaded by a computed URL so the SDK's type check never pulls the server's sources into its program.
const harnessUrl = new URL('../../../server/src/test-support/harness.ts', import.meta.url).href;
const harness = (await import(harnessUrl)) as Harness;

export const ADMIN_PASSWORD = harness.ADMIN_PASSWORD;

/** Starts the real cinderbox server on 127.0.0.1:0 with a fresh data directory. */
export function startTestServer(overrides: Record<string, unknown> = {}): Promise<TestServer> {
  return harness.startTestServer(overrides);
}

/** Password auth of the bootstrap admin against `baseUrl` (the server itself or a proxy in front of it). */
export function adminAuth(baseUrl: string) {
  return {
    authUrl: `${baseUrl}/identity/v3`,
    username: 'admin',
    password: ADMIN_PASSWORD,
    projectName: 'admin',
    userDomainName: 'Default',
    projectDomainName: 'Default',
  };
}

/** A connection as the bootstrap admin; fast retries so tests stay quick. */
export function adminConnection(baseUrl: string, extra: Partial<ConnectionOptions> = {}): Connection {
  return new Connection({ auth: adminAuth(baseUrl), retry: { baseDelayMs: 5, maxDelayMs: 50 }, ...extra });
}

/** A connection as a member user created by `t.createMember(name)` (password `<name>-pw`). */
export function memberConnection(baseUrl: string, name: string, extra: Partial<ConnectionOptions> = {}): Connection {
  return new Connection({
    auth: {
      authUrl: `${baseUrl}/identity/v3`,
      username: name,
      password: `${name}-pw`,
      projectName: name,
      userDomainName: 'Default',
      projectDomainName: 'Default',
    },
    retry: { baseDelayMs: 5, maxDelayMs: 50 },
    ...extra,
  });
}

/** One request seen by a {@link Proxy}. */
export interface ProxiedRequest {
  method: string;
  path: string;
  query: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** What an interceptor answers instead of forwarding (undefined = forward). */
export interface Injected {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface Proxy {
  url: string;
  requests: ProxiedRequest[];
  close(): Promise<void>;
}

/**
 * An HTTP proxy on 127.0.0.1:0 in front of `target`. Each request is recorded, offered to `intercept` (which may
 * answer it) and otherwise forwarded. Response bodies have the target's own URL rewritten to the proxy's, so
 * links and catalogs keep clients on the proxy.
 */
export async function startProxy(
  target: string,
  intercept: (req: ProxiedRequest) => Injected | undefined = () => undefined,
): Promise<Proxy> {
  const requests: ProxiedRequest[] = [];
  const t = new URL(target);
  let self = '';
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const u = new URL(req.url ?? '/', 'http://x');
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = raw.toString('utf8');
      }
    }
    const rec: ProxiedRequest = {
      method: req.method ?? 'GET',
      path: u.pathname,
      query: u.search.replace(/^\?/, ''),
      headers: req.headers,
      body,
    };
    requests.push(rec);
    const injected = intercept(rec);
    if (injected) {
      res.writeHead(injected.status, { 'content-type': 'application/json', ...(injected.headers ?? {}) });
      res.end(injected.body === undefined ? '' : JSON.stringify(injected.body));
      return;
    }
    const headers = { ...req.headers, host: t.host };
    const upstream = httpRequest(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers },
      async (up) => {
        const out: Buffer[] = [];
        for await (const c of up) out.push(c as Buffer);
        const text = Buffer.concat(out).toString('utf8').replaceAll(target, self);
        const h = { ...up.headers };
        delete h['content-length'];
        delete h['transfer-encoding'];
        res.writeHead(up.statusCode ?? 502, h);
        res.end(text);
      },
    );
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    upstream.end(raw);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: self,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
