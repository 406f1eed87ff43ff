import type { Command } from 'commander';
import { collect, keyValue, lazy, positiveInt, withOutput, withWait } from './common.js';

const act = (name: string) => lazy(() => import('../actions/backup.js'), name);

export function registerBackup(program: Command): void {
  const backup = program
    .command('backup')
    .description('Volume backups (create, list, show, set, unset, delete, restore)');

  withWait(
    withOutput(
      backup
        .command('create')
        .description('Back up a volume (full, or incremental on the latest backup)')
        .argument('<volume>', 'volume to back up (name or ID)')
        .option('--name <name>', 'backup name')
        .option('--description <text>', 'backup description')
        .option('--snapshot <snapshot>', 'back up this snapshot of the volume (name or ID)')
        .option('--incremental', 'incremental backup')
        .option('--force', 'back up an in-use volume')
        .option('--container <container>', 'backup container; the name of a backup target (serve --backup-target) stores the backup there')
        .option('--property <key=value>', 'metadata (repeatable; microversion 3.43)', keyValue),
      'show',
    ),
    'the backup is available, with a progress bar',
  ).action(act('create'));

  withOutput(
    backup
      .command('list')
      .description('List backups')
      .option('--volume <volume>', 'only backups of this volume (name or ID)')
      .option('--name <name>', 'only backups with this name')
      .option('--status <status>', 'only backups in this status')
      .option('--all-projects', 'backups of every project (admin)')
      .option('--limit <n>', 'at most this many', positiveInt)
      .option('--marker <id>', 'start after this backup'),
    'list',
  ).action(act('list'));

  withOutput(backup.command('show').description('Show a backup').argument('<backup>', 'name or ID'), 'show').action(
    act('show'),
  );

  backup
    .command('set')
    .description('Change a backup: name, description (3.9), metadata (3.43) or status (admin)')
    .argument('<backup>', 'name or ID')
    .option('--name <name>', 'new name')
    .option('--description <text>', 'new description')
    .option('--property <key=value>', 'add or change metadata (repeatable)', keyValue)
    .option('--state <status>', 'reset the status (admin): available or error')
    .action(act('set'));

  backup
    .command('unset')
    .description('Remove backup metadata keys (3.43)')
    .argument('<backup>', 'name or ID')
    .requiredOption('--property <key>', 'metadata key to remove (repeatable)', collect)
    .action(act('unset'));

  withWait(
    backup
      .command('delete')
      .description('Delete backups')
      .argument('<backup...>', 'names or IDs')
      .option('--force', 'admin force delete, whatever the status'),
    'the backups are gone',
  ).action(act('remove'));

  withWait(
    withOutput(
      backup
        .command('restore')
        .description('Restore a backup into an existing volume or a new one')
        .argument('<backup>', 'name or ID')
        .option('--volume <volume>', 'restore into this available volume (name or ID); default: a new volume')
        .option('--name <name>', 'name of the new volume'),
      'show',
    ),
    'the restored volume is available, with a progress bar',
  ).action(act('restore'));
}
