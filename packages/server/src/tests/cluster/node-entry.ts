/**
 * Child-process entry of the cluster suite: one cluster node, configured like `cinderbox serve` from the
 * environment (CINDERBOX_NODE_NAME, CINDERBOX_DATABASE_URL, CINDERBOX_VOLUME_BACKENDS, CINDERBOX_BACKUP_TARGETS,
 * CINDERBOX_SERVICE_DOWN_SECONDS …) on the data directory given as argv[2]. Prints `LISTENING <url>` once it
 * accepts requests; a start that is refused prints `REFUSED <message>` and exits 3.
 */
import { loadConfig } from '../../config/config.js';
import { startServer } from '../../main.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: node-entry.ts <dataDir>');
try {
  const server = await startServer(loadConfig({ dataDir, port: 0, host: '127.0.0.1' }, process.env));
  process.stdout.write(`LISTENING ${server.url}\n`);
  process.on('SIGTERM', () => {
    void server.close().then(() => process.exit(0));
  });
} catch (e) {
  process.stdout.write(`REFUSED ${(e as Error).message}\n`);
  process.exit(3);
}
