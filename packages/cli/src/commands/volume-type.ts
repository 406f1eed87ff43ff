import type { Command } from 'commander';
import { collect, keyValue, lazy, positiveInt, withOutput } from './common.js';

const act = (name: string) => lazy(() => import('../actions/volume-type.js'), name);

const ENCRYPTION_HELP = {
  provider: 'encryption provider, e.g. luks (admin; sets an encryption type)',
  cipher: 'encryption cipher, e.g. aes-xts-plain64',
  keySize: 'encryption key size in bits',
  controlLocation: 'where encryption happens: front-end (default) or back-end',
};

/** `volume type …`, as python-openstackclient shapes it; hangs under the `volume` command. */
export function registerVolumeType(program: Command): void {
  const volume = program.commands.find((c) => c.name() === 'volume');
  if (!volume) throw new Error('register the volume command first');
  const type = volume.command('type').description('Volume types (create, list, show, set, unset, delete)');

  withOutput(
    type
      .command('create')
      .description('Create a volume type (admin)')
      .argument('<name>', 'volume type name')
      .option('--description <description>', 'volume type description')
      .option('--public', 'volume type is accessible to every project (default)')
      .option('--private', 'volume type is accessible only to admins and the projects given with --project')
      .option('--property <key=value>', 'extra spec, e.g. volume_backend_name=qcow2 (repeatable)', keyValue)
      .option('--project <project>', 'give this project access to the private type (name or ID)')
      .option('--encryption-provider <provider>', ENCRYPTION_HELP.provider)
      .option('--encryption-cipher <cipher>', ENCRYPTION_HELP.cipher)
      .option('--encryption-key-size <bits>', ENCRYPTION_HELP.keySize, positiveInt)
      .option('--encryption-control-location <location>', ENCRYPTION_HELP.controlLocation),
    'show',
  ).action(act('create'));

  withOutput(
    type
      .command('list')
      .description('List volume types')
      .option('--public', 'public types only')
      .option('--private', 'private types only (admin)')
      .option('--default', "the default volume type only (the project's default if it has one)")
      .option('--property <key=value>', 'only types with this extra spec (repeatable; microversion 3.52)', keyValue),
    'list',
  ).action(act('list'));

  withOutput(
    type
      .command('show')
      .description('Show a volume type')
      .argument('<volume-type>', 'name or ID')
      .option('--encryption-type', 'also show its encryption type (admin)'),
    'show',
  ).action(act('show'));

  type
    .command('set')
    .description('Change a volume type (admin)')
    .argument('<volume-type>', 'name or ID')
    .option('--name <name>', 'new name')
    .option('--description <description>', 'new description')
    .option('--public', 'make the type public')
    .option('--private', 'make the type private')
    .option('--property <key=value>', 'add or change an extra spec (repeatable)', keyValue)
    .option('--project <project>', 'give this project access to the private type (name or ID)')
    .option('--encryption-provider <provider>', ENCRYPTION_HELP.provider)
    .option('--encryption-cipher <cipher>', ENCRYPTION_HELP.cipher)
    .option('--encryption-key-size <bits>', ENCRYPTION_HELP.keySize, positiveInt)
    .option('--encryption-control-location <location>', ENCRYPTION_HELP.controlLocation)
    .action(act('set'));

  type
    .command('unset')
    .description('Remove extra specs, project access or the encryption type of a volume type (admin)')
    .argument('<volume-type>', 'name or ID')
    .option('--property <key>', 'extra spec to remove (repeatable)', collect)
    .option('--project <project>', "withdraw this project's access to the private type (name or ID)")
    .option('--encryption-type', 'remove the encryption type')
    .action(act('unset'));

  type
    .command('delete')
    .description('Delete volume types (admin; refused while volumes use them)')
    .argument('<volume-type...>', 'names or IDs')
    .action(act('remove'));
}
