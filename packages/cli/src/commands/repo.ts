import type { Command } from 'commander';
import { lazy, nonNegativeInt, withOutput } from './common.js';

const act = (name: string) => lazy(() => import('../actions/repo.js'), name);

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
    .description('Backup repository maintenance (admin): verify, gc')
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
}
