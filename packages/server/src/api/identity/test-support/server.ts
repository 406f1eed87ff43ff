import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig, type ServerConfig } from '../../../config/config.js';
import type { Clock } from '../../../domain/time.js';
import { IdentityService } from '../../../services/identity/identity-service.js';
import { openTestDatabase } from '../../../test-support/harness.js';
import { type RequestOptions, requestAt } from '../../../test-support/http.js';
import { metadataOver } from '../../../wiring.js';
import { createHttpApp } from '../../common/http-app.js';
import { registerIdentityRoutes } from '../index.js';

export const ADMIN_PASSWORD = 'admin-secret-for-identity-tests';

/**
 * The identity API alone on a real socket and a temporary store: the same composition as main.ts
 * for this family, without the block-storage drivers, so these tests start in milliseconds.
 */
export async function startIdentityServer(overrides: Partial<ServerConfig> = {}, opts: { clock?: Clock } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'cinderbox-identity-'));
  const config = { ...loadConfig({ dataDir: dir, port: 0, host: '127.0.0.1' }, {}), bootstrapAdminPassword: ADMIN_PASSWORD, ...overrides };
  // SQLite in `dir`, or a fresh PostgreSQL database when CINDERBOX_TEST_DATABASE_URL is set.
  const database = await openTestDatabase(dir);
  const logger = pino({ level: 'silent' });
  // A cheap scrypt keeps these files fast; the production cost is covered by the password hasher's own test.
  const metadata = metadataOver(database);
  const identity = new IdentityService({ store: metadata.store, identityStore: metadata.identity, clock: opts.clock ?? { now: () => new Date() }, config, logger, scryptLogN: 10 });
  const bootstrap = await identity.bootstrap();
  const app = createHttpApp({ logger, publicUrl: config.publicUrl, tokens: identity });
  registerIdentityRoutes(app, { identity, config });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  const request = (method: string, path: string, o: RequestOptions = {}) => requestAt(url, method, path, o);

  return {
    url,
    config,
    identity,
    db: database.db,
    bootstrap,
    request,
    async close() {
      await app.close();
      await database.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type IdentityTestServer = Awaited<ReturnType<typeof startIdentityServer>>;

export function passwordAuth(user: string, password: string, scope?: unknown, userDomain: Record<string, string> = { id: 'default' }) {
  return {
    auth: {
      identity: { methods: ['password'], password: { user: { name: user, domain: userDomain, password } } },
      ...(scope === undefined ? {} : { scope }),
    },
  };
}

export const projectScope = (name: string, domain: Record<string, string> = { id: 'default' }) => ({ project: { name, domain } });
