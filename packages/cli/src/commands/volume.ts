import type { Command } from 'commander';
import { collect, keyValue, lazy, withNoProperty, nonNegativeInt, positiveInt, withOutput, withWait } from './common.js';

const act = (name: string) => lazy(() => import('../actions/volume.js'), name);

export function registerVolume(program: Command): void {
  const volume = program
    .command('volume')
    .description('Block-storage volumes (create, list, show, set, unset, delete, upload, download)');

  withWait(
    withOutput(
      volume
        .command('create')
        .description('Create a volume (empty, or from a snapshot, another volume or a backup)')
        .argument('[name]', 'volume name')
        .option('--size <gib>', 'size in GiB (required unless created from a source)', positiveInt)
        .option('--description <text>', 'volume description')
        .option('--type <type>', 'volume type')
        .option('--availability-zone <zone>', 'availability zone')
        .option('--snapshot <snapshot>', 'create from this snapshot (name or ID)')
        .option('--source <volume>', 'clone this volume (name or ID)')
        .option('--backup <backup>', 'restore this backup into the new volume (name or ID; microversion 3.47)')
        .option('--property <key=value>', 'metadata (repeatable)', keyValue)
        .option('--remote-source <key=value>', 'manage this backend volume instead: source-name=NAME or source-id=ID (admin; needs --host)', keyValue)
        .option('--host <host>', 'with --remote-source: the backend, host@backend#pool'),
      'show',
    ),
    'the volume is available',
  ).action(act('create'));

  withOutput(
    volume
      .command('list')
      .description('List volumes')
      .option('--name <name>', 'only volumes with this name')
      .option('--status <status>', 'only volumes in this status')
      .option('--all-projects', 'volumes of every project (admin)')
      .option('--project <project-id>', 'only this project (admin; implies --all-projects)')
      .option('--limit <n>', 'at most this many', positiveInt)
      .option('--marker <id>', 'start after this volume'),
    'list',
  ).action(act('list'));

  withOutput(volume.command('show').description('Show a volume').argument('<volume>', 'name or ID'), 'show').action(
    act('show'),
  );

  withNoProperty(
    volume
      .command('set')
      .description('Change a volume: name, description, metadata, size (extend), type, bootable and read-only flags, or status (admin)')
      .argument('<volume>', 'name or ID')
      .option('--name <name>', 'new name')
      .option('--description <text>', 'new description')
      .option('--property <key=value>', 'add or change metadata (repeatable)', keyValue)
      .option('--size <gib>', 'extend to this size in GiB', positiveInt)
      .option('--state <status>', 'reset the status (admin): available, error, …')
      .option('--type <type>', 'retype to this volume type (name or ID)')
      .option('--retype-policy <policy>', "with --type: 'never' (default) or 'on-demand' (data may move to another backend)")
      .option('--bootable', 'mark the volume bootable')
      .option('--non-bootable', 'mark the volume not bootable')
      .option('--read-only', 'attach read-only from now on')
      .option('--read-write', 'attach read-write from now on'),
  ).action(act('set'));

  volume
    .command('migrate')
    .description('Move a volume to another backend of the node (admin); its type stays')
    .argument('<volume>', 'name or ID')
    .requiredOption('--host <host>', 'destination backend, host@backend#pool')
    .option('--force-host-copy', 'copy through the host (accepted; cinderbox always copies)')
    .option('--lock-volume', 'lock the volume while it moves (accepted; an available volume is always locked)')
    .action(lazy(() => import('../actions/volume-migrate.js'), 'migrate'));

  volume
    .command('unset')
    .description('Remove volume metadata keys')
    .argument('<volume>', 'name or ID')
    .requiredOption('--property <key>', 'metadata key to remove (repeatable)', collect)
    .action(act('unset'));

  withWait(
    volume
      .command('delete')
      .description('Delete volumes')
      .argument('<volume...>', 'names or IDs')
      .option('--force', 'admin force delete, whatever the status')
      .option('--purge', "also delete the volume's snapshots (cascade)"),
    'the volumes are gone',
  ).action(act('remove'));

  volume
    .command('upload')
    .description('Write a local file over the start of an available volume (cinderbox-data extension)')
    .argument('<volume>', 'name or ID')
    .argument('<file>', 'file to read ("-" for stdin)')
    .action(act('upload'));

  volume
    .command('download')
    .description("Read a volume's bytes into a local file (cinderbox-data extension)")
    .argument('<volume>', 'name or ID')
    .argument('<file>', 'file to write ("-" for stdout)')
    .option('--offset <bytes>', 'start at this byte', nonNegativeInt)
    .option('--length <bytes>', 'read at most this many bytes', positiveInt)
    .action(act('download'));
}
