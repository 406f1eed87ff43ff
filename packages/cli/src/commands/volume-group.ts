import type { Command } from 'commander';
import { collect, keyValue, lazy, withOutput } from './common.js';

const act = (name: string) => lazy(() => import('../actions/volume-group.js'), name);

/**
 * `volume group …`, `volume group snapshot …` and `volume group type …`, as python-openstackclient 6.0 shapes
 * them; hang under the `volume` command.
 */
export function registerVolumeGroup(program: Command): void {
  const volume = program.commands.find((c) => c.name() === 'volume');
  if (!volume) throw new Error('register the volume command first');
  const group = volume.command('group').description('Generic volume groups (microversion 3.13+)');

  withOutput(
    group
      .command('create')
      .description('Create a volume group, from a group type and volume types or from a source group or group snapshot')
      .argument('[volume-group-type]', 'group type (name or ID), as OSC 6.0 takes it')
      .argument('[volume-type...]', 'volume types the group takes, as OSC 6.0 takes them')
      .option('--volume-group-type <group-type>', 'group type (name or ID)')
      .option('--volume-type <volume-type>', 'volume type the group takes (repeatable)', collect)
      .option('--source-group <group>', 'create from this group: a clone of each member (3.14)')
      .option('--group-snapshot <group-snapshot>', 'create from this group snapshot: a volume per member snapshot (3.14)')
      .option('--name <name>', 'group name')
      .option('--description <description>', 'group description')
      .option('--availability-zone <zone>', 'availability zone'),
    'show',
  ).action(act('create'));

  withOutput(
    group
      .command('list')
      .description('List volume groups')
      .option('--all-projects', 'groups of every project (admin)'),
    'list',
  ).action(act('list'));

  withOutput(group.command('show').description('Show a volume group').argument('<group>', 'name or ID'), 'show').action(act('show'));

  withOutput(
    group
      .command('set')
      .description('Set volume group properties')
      .argument('<group>', 'name or ID')
      .option('--name <name>', 'new name')
      .option('--description <description>', 'new description'),
    'show',
  ).action(act('set'));

  group
    .command('add')
    .description('Add volumes to a group')
    .command('volume')
    .description('Add volumes to a volume group')
    .argument('<group>', 'name or ID')
    .argument('<volume...>', 'volumes (names or IDs)')
    .action(act('addVolume'));

  group
    .command('remove')
    .description('Remove volumes from a group')
    .command('volume')
    .description('Remove volumes from a volume group')
    .argument('<group>', 'name or ID')
    .argument('<volume...>', 'volumes (names or IDs)')
    .action(act('removeVolume'));

  group
    .command('delete')
    .description('Delete a volume group')
    .argument('<group>', 'name or ID')
    .option('--force', 'delete the member volumes too')
    .action(act('remove'));

  const snapshot = group.command('snapshot').description('Volume group snapshots (microversion 3.14+)');
  withOutput(
    snapshot
      .command('create')
      .description('Snapshot every volume of a group at one point in time')
      .argument('<volume-group>', 'group to snapshot (name or ID)')
      .option('--name <name>', 'name of the new group snapshot')
      .option('--description <description>', 'description'),
    'show',
  ).action(act('snapshotCreate'));
  withOutput(
    snapshot.command('list').description('List volume group snapshots').option('--all-projects', 'every project (admin)'),
    'list',
  ).action(act('snapshotList'));
  withOutput(
    snapshot.command('show').description('Show a volume group snapshot').argument('<snapshot>', 'name or ID'),
    'show',
  ).action(act('snapshotShow'));
  snapshot
    .command('delete')
    .description('Delete a volume group snapshot with its member snapshots')
    .argument('<snapshot>', 'name or ID')
    .action(act('snapshotRemove'));

  const type = group.command('type').description('Volume group types (admin; microversion 3.11+)');
  withOutput(
    type
      .command('create')
      .description('Create a volume group type')
      .argument('<name>', 'group type name')
      .option('--description <description>', 'description')
      .option('--public', 'visible to every project (default)')
      .option('--private', 'visible to admins only')
      .option('--property <key=value>', 'group spec (repeatable)', keyValue),
    'show',
  ).action(act('typeCreate'));
  withOutput(type.command('list').description('List volume group types'), 'list').action(act('typeList'));
  withOutput(type.command('show').description('Show a volume group type').argument('<group-type>', 'name or ID'), 'show').action(
    act('typeShow'),
  );
  withOutput(
    type
      .command('set')
      .description('Set volume group type properties')
      .argument('<group-type>', 'name or ID')
      .option('--name <name>', 'new name')
      .option('--description <description>', 'new description')
      .option('--public', 'make it public')
      .option('--private', 'make it private')
      .option('--property <key=value>', 'group spec to add or change (repeatable)', keyValue),
    'show',
  ).action(act('typeSet'));
  withOutput(
    type
      .command('unset')
      .description('Unset volume group type properties')
      .argument('<group-type>', 'name or ID')
      .option('--property <key>', 'group spec to remove (repeatable)', collect),
    'show',
  ).action(act('typeUnset'));
  type.command('delete').description('Delete volume group types').argument('<group-type...>', 'names or IDs').action(act('typeRemove'));
}
