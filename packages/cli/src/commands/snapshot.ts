import type { Command } from 'commander';
import { collect, keyValue, lazy, withNoProperty, positiveInt, withOutput, withWait } from './common.js';

const act = (name: string) => lazy(() => import('../actions/snapshot.js'), name);

export function registerSnapshot(program: Command): void {
  const snapshot = program.command('snapshot').description('Volume snapshots (create, list, show, set, unset, delete)');

  withWait(
    withOutput(
      snapshot
        .command('create')
        .description('Snapshot a volume')
        .argument('[name]', 'snapshot name')
        .requiredOption('--volume <volume>', 'volume to snapshot (name or ID)')
        .option('--description <text>', 'snapshot description')
        .option('--force', 'snapshot an in-use volume')
        .option('--property <key=value>', 'metadata (repeatable)', keyValue)
        .option('--remote-source <key=value>', "manage this backend snapshot of --volume instead: source-name=NAME or source-id=ID (admin)", keyValue),
      'show',
    ),
    'the snapshot is available, with a progress bar',
  ).action(act('create'));

  withOutput(
    snapshot
      .command('list')
      .description('List snapshots')
      .option('--volume <volume>', 'only snapshots of this volume (name or ID)')
      .option('--name <name>', 'only snapshots with this name')
      .option('--status <status>', 'only snapshots in this status')
      .option('--all-projects', 'snapshots of every project (admin)')
      .option('--project <project-id>', 'only this project (admin; implies --all-projects)')
      .option('--limit <n>', 'at most this many', positiveInt)
      .option('--marker <id>', 'start after this snapshot'),
    'list',
  ).action(act('list'));

  withOutput(
    snapshot.command('show').description('Show a snapshot').argument('<snapshot>', 'name or ID'),
    'show',
  ).action(act('show'));

  withNoProperty(
    snapshot
      .command('set')
      .description('Change a snapshot: name, description, metadata or status (admin)')
      .argument('<snapshot>', 'name or ID')
      .option('--name <name>', 'new name')
      .option('--description <text>', 'new description')
      .option('--property <key=value>', 'add or change metadata (repeatable)', keyValue)
      .option('--state <status>', 'reset the status (admin): available, error, …'),
  ).action(act('set'));

  snapshot
    .command('unset')
    .description('Remove snapshot metadata keys')
    .argument('<snapshot>', 'name or ID')
    .requiredOption('--property <key>', 'metadata key to remove (repeatable)', collect)
    .action(act('unset'));

  withWait(
    snapshot
      .command('delete')
      .description('Delete snapshots')
      .argument('<snapshot...>', 'names or IDs')
      .option('--force', 'admin force delete, whatever the status'),
    'the snapshots are gone',
  ).action(act('remove'));
}
