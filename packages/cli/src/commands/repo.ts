import type { Command } from 'commander';
import { lazy, nonNegativeInt, withOutput } from './common.js';

const act = (name: string) => lazy(() => import('../actions/repo.js'), name);
const consoleAct = (name: string) => lazy(() => import('../actions/repo-console.js'), name);
const TARGET_HELP = "the backup target (default: the server's default target)";

function withOffline(cmd: Command): Command {
  return cmd
    .option(
      '--target <name>',
      'the backup target to work on (serve --backup-target; default: the server\'s default target). With --offline\n' +
        'the targets come from CINDERBOX_BACKUP_TARGETS, `default` being the data directory\'s repository',
    )
    .option('--offline', 'open the repository directly instead of asking the server (the server must be stopped)')
    .option('--data-dir <dir>', 'data directory of the stopped server, with --offline (env CINDERBOX_DATA_DIR)');
}

export function registerRepo(program: Command): void {
  const repo = program
    .command('repo')
    .description('Backup repository maintenance (admin): verify, gc, stats, history, background jobs')
    .addHelpText(
      'after',
      '\nBy default these ask the running server (admin credentials, like the other commands). With --offline\n' +
        '--data-dir D they open the repository of a stopped server directly, holding its data-directory lock\n' +
        '(the backup key comes from CINDERBOX_BACKUP_KEY or CINDERBOX_BACKUP_KEY_FILE, as for serve).\n' +
        'Exit codes: 0 success (verify: no problem), 1 API or configuration error or data directory in use,\n' +
        '2 usage error, 4 verify ran and found problems (listed on stdout).',
    );

  withOffline(
    withOutput(
      repo
        .command('verify')
        .description('Check every backup manifest and the presence and CRC of every chunk they reference')
        .option('--full', 'also decrypt, decompress and re-hash every chunk (reads all stored data)'),
      'show',
    ),
  ).action(act('verify'));

  withOffline(
    withOutput(
      repo
        .command('gc')
        .description('Delete chunks that no backup references and that are older than the grace period')
        .option(
          '--grace <seconds>',
          'keep unreferenced chunks younger than this (default 3600; chunks of running backups are always kept)',
          nonNegativeInt,
        )
        .option('--dry-run', 'only count what would be deleted'),
      'show',
    ),
  ).action(act('gc'));

  withOutput(repo.command('stats').description('Logical vs stored bytes, chunks, backups, last verify and gc (from counters: cheap)'), 'show')
    .option('--target <name>', TARGET_HELP)
    .action(consoleAct('stats'));

  withOutput(
    repo
      .command('history')
      .description('Samples of the repository counters over time (--backups: recent backups and their throughput)')
      .option('--since <time>', 'only from this ISO 8601 time on')
      .option('--backups', 'list recent backups and their throughput instead of the samples'),
    'list',
  )
    .option('--target <name>', TARGET_HELP)
    .action(consoleAct('history'));

  withOutput(repo.command('jobs').description('Recent background verify and gc jobs, newest first'), 'list').action(consoleAct('jobs'));

  withOutput(repo.command('job').description('One background job').argument('<job-id>'), 'show').action(consoleAct('job'));

  withOutput(
    repo
      .command('start')
      .description('Start a background verify or gc on the server (one of each kind per target at a time)')
      .argument('<kind>', 'verify or gc')
      .option('--target <name>', TARGET_HELP)
      .option('--full', 'verify: also decrypt, decompress and re-hash every chunk')
      .option('--dry-run', 'gc: only count what would be deleted')
      .option('--grace <seconds>', 'gc: keep unreferenced chunks younger than this (default 3600)', nonNegativeInt)
      .option('--wait', 'wait for the job to end, with a progress bar at a terminal; exit 1 when it failed'),
    'show',
  ).action(consoleAct('start'));
}
