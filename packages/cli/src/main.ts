import { Command, InvalidArgumentError } from 'commander';
import { registerClientCommands } from './commands/client.js';
import { registerDb } from './commands/db.js';
// Type only: serve's module (and the server behind it) loads when the command runs.
import type { ServeOptions } from './commands/serve.js';
import { VERSION } from './version.js';

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

export function buildProgram(): Command {
  const program = new Command('cinderbox')
    .description('Block-storage data protection: an OpenStack Cinder/CBR-compatible server and its client')
    .version(VERSION, '--version')
    .showHelpAfterError()
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : 2);
    });

  program
    .command('serve')
    .description('Run the cinderbox server (Keystone subset, Block Storage API v3/v2) on this machine')
    .option('--host <host>', 'address to listen on (default: $CINDERBOX_HOST, else 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default: $CINDERBOX_PORT, else 8776)', parsePort)
    .option('--data-dir <dir>', 'data directory: metadata, volumes, backups (default: $CINDERBOX_DATA_DIR, else .cinderbox)')
    .option('--public-url <url>', 'base URL advertised in the catalog and links (default: taken from each request)')
    .option('--log-level <level>', 'log level: fatal, error, warn, info, debug (default: $CINDERBOX_LOG_LEVEL, else warn)')
    .option('--database-url <url>', 'metadata store: postgres://user:password@host:port/db (default: $CINDERBOX_DATABASE_URL, else SQLite in the data dir)')
    .option('--login-max-failures <n>', 'failed logins from one address within the window before it is locked (default 5)', parseCount)
    .option('--login-window <seconds>', 'window failed logins are counted in (default 60)', parseCount)
    .option('--login-user-max-failures <n>', 'failed logins against one user, from any address, before new addresses are locked out of it (default 20)', parseCount)
    .option('--login-lockout <seconds>', 'first lockout; each further one doubles (default 1)', parseCount)
    .option('--login-lockout-max <seconds>', 'longest lockout (default 300)', parseCount)
    .option(
      '--backup-target <NAME=URL>',
      'a backup target: NAME=s3://bucket/prefix?endpoint=URL&region=R or NAME=file:///dir (repeatable; credentials from the AWS chain; default: $CINDERBOX_BACKUP_TARGETS)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--node-name <name>', "this node's name in a cluster sharing one PostgreSQL database: the host of its services and of its volumes' node@backend#pool (default: $CINDERBOX_NODE_NAME, else cinderbox)")
    .option('--advertise-url <url>', "where the other nodes of a cluster reach this node's API, e.g. to move its raw/qcow2 volumes to theirs (default: $CINDERBOX_ADVERTISE_URL, else the listening address)")
    .option('--default-backup-target <name>', "where backups go that name no target (default: the first --backup-target, else `default`, the data dir's repository)")
    .option(
      '--region <NAME=TARGET>',
      'a CBR replication region kept on backup target TARGET (repeatable; default: $CINDERBOX_REGIONS)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .action(async (opts: ServeOptions) => {
      const { runServe } = await import('./commands/serve.js');
      await runServe(opts);
    });

  registerDb(program);
  registerClientCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
