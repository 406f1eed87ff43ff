import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ServerConfig } from '../config/config.js';
import { type RunningServer, type StartOptions, startServer } from '../main.js';
import { type RequestOptions, requestAt, type TestResponse } from './http.js';

export const ADMIN_PASSWORD = 'admin-secret-for-tests';

export interface TestServer {
  server: RunningServer;
  url: string;
  dataDir: string;
  /** A project-scoped admin token (user admin, project admin). */
  adminToken: string;
  adminProjectId: string;
  /** JSON request helper: returns status, headers and parsed body. */
  request(method: string, path: string, opts?: RequestOptions): Promise<TestResponse>;
  /** Creates a project and a user with role `member` in it; returns a token scoped to it. */
  createMember(name: string): Promise<{ projectId: string; userId: string; token: string }>;
  /** Stops the server; removes the data directory unless `keepData`. */
  close(opts?: { keepData?: boolean }): Promise<void>;
}

export type { RequestOptions, TestResponse } from './http.js';

/** Creates an empty database on the server `url` names and returns its URL (the caller's database is left alone). */
export async function createTestDatabase(url: string): Promise<string> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const name = `cbx_test_${randomUUID().replaceAll('-', '')}`;
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function startTestServer(
  overrides: Partial<ServerConfig> = {},
  dataDir?: string,
  startOptions: StartOptions = {},
): Promise<TestServer> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'cinderbox-test-')));
  const config = { ...loadConfig({ dataDir: dir, port: 0, host: '127.0.0.1' }, {}), bootstrapAdminPassword: ADMIN_PASSWORD, ...overrides };
  // The suites run once per store: with CINDERBOX_TEST_DATABASE_URL set, each server gets a fresh PostgreSQL database.
  const pgUrl = process.env.CINDERBOX_TEST_DATABASE_URL;
  if (pgUrl && !overrides.database) config.database = { kind: 'postgres', url: await createTestDatabase(pgUrl) };
  const server = await startServer(config, startOptions);
  const url = server.url;

  const request = (method: string, path: string, opts: RequestOptions = {}) => requestAt(url, method, path, opts);

  async function token(user: string, password: string, project: string): Promise<string> {
    const res = await request('POST', '/identity/v3/auth/tokens', {
      body: {
        auth: {
          identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
          scope: { project: { name: project, domain: { id: 'default' } } },
        },
      },
    });
    if (res.status !== 201) throw new Error(`auth failed for ${user}: ${res.status} ${res.text}`);
    return res.headers.get('x-subject-token')!;
  }

  let adminToken: string;
  let adminProjectId: string;
  try {
    adminToken = await token('admin', config.bootstrapAdminPassword ?? ADMIN_PASSWORD, 'admin');
    const projects = await request('GET', '/identity/v3/projects?name=admin', { token: adminToken });
    adminProjectId = projects.body.projects[0].id as string;
  } catch (err) {
    // A half-started server would keep the test process alive.
    await server.close();
    throw err;
  }

  return {
    server,
    url,
    dataDir: dir,
    adminToken,
    adminProjectId,
    request,
    async createMember(name: string) {
      const p = await request('POST', '/identity/v3/projects', { token: adminToken, body: { project: { name, domain_id: 'default' } } });
      if (p.status !== 201) throw new Error(`project create: ${p.status} ${p.text}`);
      const u = await request('POST', '/identity/v3/users', {
        token: adminToken,
        body: { user: { name, domain_id: 'default', password: `${name}-pw`, default_project_id: p.body.project.id } },
      });
      if (u.status !== 201) throw new Error(`user create: ${u.status} ${u.text}`);
      const roles = await request('GET', '/identity/v3/roles?name=member', { token: adminToken });
      const g = await request('PUT', `/identity/v3/projects/${p.body.project.id}/users/${u.body.user.id}/roles/${roles.body.roles[0].id}`, { token: adminToken });
      if (g.status !== 204) throw new Error(`role grant: ${g.status} ${g.text}`);
      return { projectId: p.body.project.id, userId: u.body.user.id, token: await token(name, `${name}-pw`, name) };
    },
    async close(opts = {}) {
      await server.close();
      if (!opts.keepData && !dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a truthy value or the deadline passes (then throws with the last value). */
export async function waitFor<T>(check: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
}
