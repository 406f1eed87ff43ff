import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ServerConfig } from '../config/config.js';
import { type RunningServer, type StartOptions, startServer } from '../main.js';
import { openDatabase, type OpenedDatabase } from '../store/database.js';
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

const DIR_DATABASE_FILE = '.test-database-url';
const dirDatabases = new Set<string>();
let dropAtExit = false;

/**
 * The test database bound to data directory `dir` (created on first use and named in a file inside it), so a
 * restarted server — in this process or a child — finds the metadata it left. Dropped when this process exits.
 */
export async function testDatabaseFor(dir: string, adminUrl: string): Promise<string> {
  const file = join(dir, DIR_DATABASE_FILE);
  let url = await readFile(file, 'utf8').then((t) => t.trim(), () => '');
  if (!url) {
    url = await createTestDatabase(adminUrl);
    await mkdir(dir, { recursive: true });
    await writeFile(file, `${url}\n`);
    dirDatabases.add(url);
  }
  if (!dropAtExit && dirDatabases.size > 0) {
    dropAtExit = true;
    // beforeExit may start async work; it fires again once that work is done, by which time the set is empty.
    process.on('beforeExit', () => {
      const urls = [...dirDatabases];
      dirDatabases.clear();
      for (const u of urls) void dropTestDatabase(adminUrl, u).catch(() => {});
    });
  }
  return url;
}

/** Drops a database createTestDatabase made, connecting through `adminUrl` (the server's default database). */
export async function dropTestDatabase(adminUrl: string, testUrl: string): Promise<void> {
  const name = decodeURIComponent(new URL(testUrl).pathname.slice(1));
  if (!/^cbx_test_[0-9a-f]{32}$/.test(name)) throw new Error(`refusing to drop ${name}: not a test database`);
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    // FORCE: a connection the server under test leaked must not keep the database (and the cluster's disk) alive.
    // An autovacuum worker on the database can only be terminated by a member of pg_signal_backend (42501), and
    // one that starts between the termination and the drop makes the drop fail as in use (55006); either is
    // gone within moments, so those two are retried on a cluster whose role lacks that grant.
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(`drop database if exists ${name} with (force)`);
        break;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (attempt >= 20 || (code !== '42501' && code !== '55006')) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  } finally {
    await client.end();
  }
}

/**
 * A migrated metadata store for tests below the HTTP layer: SQLite in `dir`, or a fresh PostgreSQL database
 * when CINDERBOX_TEST_DATABASE_URL is set; `close` also drops that database.
 */
export async function openTestDatabase(dir: string): Promise<OpenedDatabase> {
  const pgUrl = process.env.CINDERBOX_TEST_DATABASE_URL;
  if (!pgUrl) return openDatabase({ dataDir: dir, database: { kind: 'sqlite' } });
  const url = await createTestDatabase(pgUrl);
  let opened: OpenedDatabase;
  try {
    opened = await openDatabase({ dataDir: dir, database: { kind: 'postgres', url } });
  } catch (err) {
    await dropTestDatabase(pgUrl, url).catch(() => {});
    throw err;
  }
  return {
    ...opened,
    async close() {
      await opened.close();
      await dropTestDatabase(pgUrl, url);
    },
  };
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
  // A caller-chosen data directory may be reopened by a later server (restart tests), so its database is bound
  // to the directory and lives until this process exits; a harness-made directory's database goes with close().
  const bound = dataDir !== undefined;
  let testDbUrl: string | null = null;
  if (pgUrl && !overrides.database) {
    testDbUrl = bound ? await testDatabaseFor(dir, pgUrl) : await createTestDatabase(pgUrl);
    config.database = { kind: 'postgres', url: testDbUrl };
  }
  const dropDatabase = async () => {
    if (pgUrl && testDbUrl && !bound) await dropTestDatabase(pgUrl, testDbUrl);
  };
  let server: RunningServer;
  try {
    server = await startServer(config, startOptions);
  } catch (err) {
    await dropDatabase().catch(() => {});
    // A start that fails (the tests of refused starts) leaves no directory behind that the harness made.
    if (!dataDir) await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
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
    await dropDatabase().catch(() => {});
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
      // keepData keeps the database too: a test may start a second server on the same data (restart, crash).
      if (!opts.keepData) await dropDatabase();
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
