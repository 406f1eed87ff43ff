/**
 * Child-process entry for the crash test: starts a server on the data directory given as argv[2] and prints
 * one line `LISTENING <url> <adminPassword>` once it accepts requests.
 */
import { loadConfig } from '../../config/config.js';
import { startServer } from '../../main.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: serve-entry.ts <dataDir>');
const config = {
  // Only the volume driver (the crash tests that watch raw files pin raw), the backend list (the retype crash test
  // needs two), the backup targets and, on the PostgreSQL pass, the database may come from the environment.
  ...loadConfig(
    { dataDir, port: 0, host: '127.0.0.1' },
    {
      CINDERBOX_VOLUME_DRIVER: process.env.CINDERBOX_VOLUME_DRIVER,
      CINDERBOX_VOLUME_BACKENDS: process.env.CINDERBOX_VOLUME_BACKENDS,
      CINDERBOX_DATABASE_URL: process.env.CINDERBOX_DATABASE_URL,
      // The S3 crash suite's targets (their credentials come from the AWS chain: AWS_ACCESS_KEY_ID…).
      CINDERBOX_BACKUP_TARGETS: process.env.CINDERBOX_BACKUP_TARGETS,
      CINDERBOX_DEFAULT_BACKUP_TARGET: process.env.CINDERBOX_DEFAULT_BACKUP_TARGET,
    },
  ),
  bootstrapAdminPassword: 'crash-test-admin',
  taskLeaseSeconds: 2,
};
const server = await startServer(config);
process.stdout.write(`LISTENING ${server.url}\n`);
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
