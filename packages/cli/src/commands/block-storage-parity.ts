import type { Command } from 'commander';
import { registerBackup } from './backup.js';
import { keyValue, lazy, nonNegativeInt, positiveInt, withOutput } from './common.js';
import { registerSnapshot } from './snapshot.js';

const act = (name: string) => lazy(() => import('../actions/block-storage-parity.js'), name);

function child(parent: Command, name: string): Command {
  const c = parent.commands.find((x) => x.name() === name);
  if (!c) throw new Error(`register the ${name} command first`);
  return c;
}

/** `cinderclient manage` / `snapshot-manage` options shared by `volume manage` and `snapshot manage`. */
function manageOptions(cmd: Command): Command {
  return cmd
    .option('--id-type <type>', 'what the identifier is: source-name (default) or source-id', 'source-name')
    .option('--name <name>', 'name of the managed resource')
    .option('--description <text>', 'description of the managed resource')
    .option('--property <key=value>', 'metadata (repeatable)', keyValue);
}

function addSnapshotExtras(snapshot: Command): void {
  withOutput(
    manageOptions(
      snapshot
        .command('manage')
        .description('Bring an existing backend snapshot under management (admin)')
        .argument('<volume>', 'the managed volume the snapshot belongs to (name or ID)')
        .argument('<identifier>', "the backend's name (or id, with --id-type source-id) of the snapshot"),
    ),
    'show',
  ).action(act('snapshotManage'));
  snapshot
    .command('unmanage')
    .description('Stop managing snapshots: the record goes, the backend data stays (admin)')
    .argument('<snapshot...>', 'names or IDs')
    .action(act('snapshotUnmanage'));
}

function addBackupExtras(backup: Command): void {
  const record = backup.command('record').description('Backup records (export, import)');
  withOutput(
    record
      .command('export')
      .description("Export a backup's record, to import it into another deployment (admin)")
      .argument('<backup>', 'name or ID'),
    'show',
  ).action(act('backupExport'));
  withOutput(
    record
      .command('import')
      .description('Import a backup record exported by `backup record export` (admin)')
      .argument('<backup-service>', 'the Backup Service the export printed')
      .argument('<backup-metadata>', 'the Metadata (backup URL) the export printed'),
    'show',
  ).action(act('backupImport'));
}

function manageableList(parent: Command, kind: 'volume' | 'snapshot'): void {
  withOutput(
    parent
      .command('list')
      .description(`List backend ${kind}s that could be managed (admin; microversion 3.8)`)
      .argument('[host]', 'backend host, host@backend#pool (or give --cluster)')
      .option('--cluster <cluster>', 'list on this cluster instead of a host (microversion 3.17)')
      .option('--detailed', 'the same as --long (OSC keeps it for older scripts)')
      .option('--marker <reference>', 'start after this entry: its reference as JSON, e.g. {"source-name":"volume-1"}')
      .option('--limit <n>', 'at most this many', positiveInt)
      .option('--offset <n>', 'skip this many after the marker', nonNegativeInt)
      .option('--sort <key[:dir],…>', 'sort keys (size, reference) and directions, e.g. size:desc,reference'),
    'list',
  ).action(act(kind === 'volume' ? 'manageableVolumes' : 'manageableSnapshots'));
}

/**
 * What python-openstackclient 6 and cinderclient offer for the served API beyond the core commands: the
 * `volume snapshot …` / `volume backup …` spellings, manage/unmanage and manageable lists, backup record
 * export/import, revert, limits, availability zones and resource filters. Registered after volume, snapshot and
 * backup.
 */
export function registerBlockStorageParity(program: Command): void {
  const volume = child(program, 'volume');
  // OSC's long spellings: the same definitions again, under `volume`.
  registerSnapshot(volume);
  registerBackup(volume);
  for (const s of [child(program, 'snapshot'), child(volume, 'snapshot')]) addSnapshotExtras(s);
  for (const b of [child(program, 'backup'), child(volume, 'backup')]) addBackupExtras(b);

  withOutput(
    manageOptions(
      volume
        .command('manage')
        .description('Bring an existing backend volume under management (admin)')
        .argument('<host>', 'backend, host@backend#pool (or give --cluster and an empty host)')
        .argument('<identifier>', "the backend's name (or id, with --id-type source-id) of the volume"),
    )
      .option('--cluster <cluster>', 'manage on this cluster (microversion 3.16)')
      .option('--type <type>', 'volume type')
      .option('--availability-zone <zone>', 'availability zone')
      .option('--bootable', 'mark the volume bootable'),
    'show',
  ).action(act('volumeManage'));
  volume
    .command('unmanage')
    .description('Stop managing volumes: the record goes, the backend data stays (admin)')
    .argument('<volume...>', 'names or IDs')
    .action(act('volumeUnmanage'));
  volume
    .command('revert')
    .description("Revert a volume to a snapshot: its latest one (microversion 3.40)")
    .argument('<snapshot>', 'the snapshot (name or ID); its volume is reverted')
    .action(act('revert'));

  const blockStorage = program.command('block').description('Block storage (OSC spelling: block storage …)');
  const storage = blockStorage.command('storage').description('Block storage manageable resources and resource filters');
  manageableList(storage.command('volume').description('Backend volumes').command('manageable').description('Manageable volumes'), 'volume');
  manageableList(
    storage.command('snapshot').description('Backend snapshots').command('manageable').description('Manageable snapshots'),
    'snapshot',
  );
  const filter = storage.command('resource').description('Resources').command('filter').description('Resource filters (microversion 3.33)');
  withOutput(filter.command('list').description('List the filters each resource list accepts'), 'list').action(
    act('filterList'),
  );
  withOutput(
    filter.command('show').description('Show the filters one resource list accepts').argument('<resource>', 'e.g. volume'),
    'show',
  ).action(act('filterShow'));

  const limits = program.command('limits').description('Block storage limits');
  withOutput(
    limits
      .command('show')
      .description('Show absolute limits (with usage) or rate limits')
      .option('--absolute', 'absolute limits')
      .option('--rate', 'rate limits')
      .option('--reserved', 'accepted for OSC compatibility: cinderbox reserves nothing beyond in-use'),
    'list',
  ).action(act('limitsShow'));

  const zone = program.command('availability').description('Availability zones').command('zone').description('Availability zones');
  withOutput(
    zone
      .command('list')
      .description('List availability zones (block storage zones: the only ones cinderbox serves)')
      .option('--volume', 'volume zones (the default)')
      .option('--compute', 'compute zones: cinderbox has none')
      .option('--network', 'network zones: cinderbox has none'),
    'list',
  ).action(act('zoneList'));
}
