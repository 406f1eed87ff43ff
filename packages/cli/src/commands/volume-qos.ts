import { Command, Option } from 'commander';
import { collect, keyValue, lazy, withOutput } from './common.js';

const act = (name: string) => lazy(() => import('../actions/volume-qos.js'), name);

/** `volume qos …` (admin), as python-openstackclient shapes it; hangs under the `volume` command. */
export function registerVolumeQos(program: Command): void {
  const volume = program.commands.find((c) => c.name() === 'volume');
  if (!volume) throw new Error('register the volume command first');
  const qos = volume.command('qos').description('QoS specs (admin): limits associated with volume types');

  withOutput(
    qos
      .command('create')
      .description('Create a QoS spec')
      .argument('<name>', 'new QoS spec name')
      .addOption(new Option('--consumer <consumer>', 'who applies the limits (default back-end)').choices(['back-end', 'both', 'front-end']))
      .option('--property <key=value>', 'a limit, e.g. total_iops_sec=1000 (repeatable)', keyValue),
    'show',
  ).action(act('create'));

  withOutput(qos.command('list').description('List QoS specs'), 'list').action(act('list'));

  withOutput(qos.command('show').description('Show a QoS spec').argument('<qos-spec>', 'name or ID'), 'show').action(act('show'));

  qos
    .command('set')
    .description('Set QoS spec properties')
    .argument('<qos-spec>', 'name or ID')
    .option('--property <key=value>', 'property to add or change (repeatable)', keyValue)
    .action(act('set'));

  qos
    .command('unset')
    .description('Unset QoS spec properties')
    .argument('<qos-spec>', 'name or ID')
    .option('--property <key>', 'property to remove (repeatable)', collect)
    .action(act('unset'));

  qos
    .command('associate')
    .description('Associate a QoS spec with a volume type')
    .argument('<qos-spec>', 'name or ID')
    .argument('<volume-type>', 'volume type name or ID')
    .action(act('associate'));

  qos
    .command('disassociate')
    .description('Disassociate a QoS spec from a volume type, or from all')
    .argument('<qos-spec>', 'name or ID')
    .option('--volume-type <volume-type>', 'volume type to disassociate (name or ID)')
    .option('--all', 'disassociate every volume type')
    .action(act('disassociate'));

  qos
    .command('delete')
    .description('Delete QoS specs')
    .argument('<qos-spec...>', 'names or IDs')
    .option('--force', 'delete even while associated with volume types (disassociates them)')
    .action(act('remove'));
}
