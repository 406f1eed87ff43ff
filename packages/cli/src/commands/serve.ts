import { BLOCK_STORAGE_MAX_MICROVERSION, BLOCK_STORAGE_MIN_MICROVERSION } from '@cinderbox/api-schema';

export interface ServeOptions {
  host?: string;
  port?: number;
  dataDir?: string;
  publicUrl?: string;
  logLevel?: string;
  databaseUrl?: string;
  loginMaxFailures?: number;
  loginWindow?: number;
  loginUserMaxFailures?: number;
  loginLockout?: number;
  loginLockoutMax?: number;
  backupTarget?: string[];
  defaultBackupTarget?: string;
  region?: string[];
  nodeName?: string;
  advertiseUrl?: string;
}

/** `cinderbox serve`: starts the server on its embedded defaults and prints how to reach it. Installs nothing. */
export async function runServe(opts: ServeOptions): Promise<void> {
  let server: typeof import('@cinderbox/server');
  try {
    server = await import('@cinderbox/server');
  } catch (err) {
    throw new Error(`the server package is not installed or not built (run npm run setup): ${(err as Error).message}`);
  }
  // Flags left out fall through to loadConfig, which reads CINDERBOX_HOST/_PORT/_DATA_DIR/_LOG_LEVEL before its
  // own defaults: a commander default here would shadow the environment.
  const config = server.loadConfig({
    ...(opts.host === undefined ? {} : { host: opts.host }),
    ...(opts.port === undefined ? {} : { port: opts.port }),
    ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
    ...(opts.logLevel === undefined ? {} : { logLevel: opts.logLevel }),
    ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
    ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
    ...(opts.backupTarget ? { backupTargets: opts.backupTarget } : {}),
    ...(opts.defaultBackupTarget ? { defaultBackupTarget: opts.defaultBackupTarget } : {}),
    ...(opts.region ? { regions: opts.region } : {}),
    ...(opts.nodeName ? { nodeName: opts.nodeName } : {}),
    ...(opts.advertiseUrl ? { advertiseUrl: opts.advertiseUrl } : {}),
    loginThrottle: {
      ...(opts.loginMaxFailures === undefined ? {} : { maxFailures: opts.loginMaxFailures }),
      ...(opts.loginWindow === undefined ? {} : { windowSeconds: opts.loginWindow }),
      ...(opts.loginUserMaxFailures === undefined ? {} : { userMaxFailures: opts.loginUserMaxFailures }),
      ...(opts.loginLockout === undefined ? {} : { lockoutBaseSeconds: opts.loginLockout }),
      ...(opts.loginLockoutMax === undefined ? {} : { lockoutMaxSeconds: opts.loginLockoutMax }),
    },
  });
  const running = await server.startServer(config);
  const base = config.publicUrl ?? running.url;
  const out = process.stdout;
  out.write(`cinderbox listening on ${running.url}\n`);
  out.write(`  auth URL:  ${base}/identity/v3\n`);
  out.write(`  volume:    ${base}/v3 (Block Storage API v3, microversions ${BLOCK_STORAGE_MIN_MICROVERSION}-${BLOCK_STORAGE_MAX_MICROVERSION}; legacy ${base}/v2)\n`);
  out.write(`  node:      ${config.serviceHost}\n`);
  out.write(`  data dir:  ${config.dataDir}\n`);
  out.write(
    `  metadata:  ${config.database.kind === 'postgres' ? `PostgreSQL ${server.redactedDatabaseUrl(config.database.url)}` : 'SQLite in the data dir'}\n`,
  );
  out.write(`  volumes:   ${config.volumeDriverReason}\n`);
  const targets = [`default (${config.dataDir}/repo)`, ...config.backupTargets.map((t) => `${t.name} (${t.url})`)];
  out.write(`  backups:   ${targets.join(', ')}; default target ${config.defaultBackupTarget}\n`);
  if (running.bootstrap) {
    out.write(`  admin user: admin / project admin / domain Default\n`);
    if (running.bootstrap.generated) out.write(`  admin password (shown once): ${running.bootstrap.adminPassword}\n`);
    else out.write('  admin password: from CINDERBOX_ADMIN_PASSWORD\n');
  }
  out.write(`\nexport OS_CLIENT_CONFIG_FILE=${running.cloudsYamlPath} OS_CLOUD=cinderbox\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`cinderbox: ${signal} received, shutting down\n`);
    running.close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`cinderbox: shutdown failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
