import type { Command } from 'commander';
import { lazy, withOutput } from './common.js';

const act = (name: string) => lazy(() => import('../actions/volume-transfer.js'), name);

/** `volume transfer request …`, as python-openstackclient shapes it; hangs under the `volume` command. */
export function registerVolumeTransfer(program: Command): void {
  const volume = program.commands.find((c) => c.name() === 'volume');
  if (!volume) throw new Error('register the volume command first');
  const request = volume
    .command('transfer')
    .description('Volume transfers between projects')
    .command('request')
    .description('Volume transfer requests (create, list, show, accept, delete)');

  withOutput(
    request
      .command('create')
      .description('Offer a volume to another project; prints the auth key the other project accepts it with')
      .argument('<volume>', 'volume to transfer (name or ID)')
      .option('--name <name>', 'transfer request name')
      .option('--snapshots', "transfer the volume's snapshots too (default)")
      .option('--no-snapshots', "leave the volume's snapshots behind (microversion 3.55)"),
    'show',
  ).action(act('create'));

  withOutput(
    request
      .command('list')
      .description('List volume transfer requests')
      .option('--all-projects', 'transfer requests of every project (admin)'),
    'list',
  ).action(act('list'));

  withOutput(
    request.command('show').description('Show a volume transfer request').argument('<transfer-request>', 'name or ID'),
    'show',
  ).action(act('show'));

  withOutput(
    request
      .command('accept')
      .description('Accept a volume transfer request into this project')
      .argument('<transfer-request>', 'transfer request ID')
      .requiredOption('--auth-key <key>', 'the auth key printed when the request was created'),
    'show',
  ).action(act('accept'));

  request
    .command('delete')
    .description('Delete volume transfer requests (the volumes become available again)')
    .argument('<transfer-request...>', 'names or IDs')
    .action(act('remove'));
}
