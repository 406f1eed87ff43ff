import type { Command } from 'commander';
import { lazy, withOutput } from './common.js';

const act = (name: string) => lazy(() => import('../actions/db.js'), name);

export function registerDb(program: Command): void {
  const db = program.command('db').description("The server's metadata database (admin, on the server's machine)");

  withOutput(
    db
      .command('copy')
      .description('Copy a stopped SQLite server\'s metadata into an empty PostgreSQL database')
      .option('--from-data-dir <dir>', 'data directory of the stopped server (env CINDERBOX_DATA_DIR)')
      .option('--to <url>', 'postgres://user:password@host:port/database to copy into (env CINDERBOX_DATABASE_URL)'),
    'show',
  )
    .addHelpText(
      'after',
      '\nHolds the data directory\'s lock (refuses while a server runs on it), reads cinderbox.db without writing to\n' +
        'it, creates the schema in the target and copies every table in one transaction: a target that already holds\n' +
        'data is refused, and a failure rolls every copied row back (rerun once fixed). Volumes and backups stay in\n' +
        'the data directory: afterwards start the server on it with CINDERBOX_DATABASE_URL set to the target.\n' +
        'Exit codes: 0 copied, 1 refused or failed (the reason on stderr), 2 usage error.',
    )
    .action(act('copy'));
}
