import type { Command } from 'commander';
import { lazy, withOutput } from './common.js';

const act = (name: string) => lazy(() => import('../actions/volume-message.js'), name);

/** `volume message list|show|delete`, as python-openstackclient shapes them; hangs under the `volume` command. */
export function registerVolumeMessage(program: Command): void {
  const volume = program.commands.find((c) => c.name() === 'volume');
  if (!volume) throw new Error('register the volume command first');
  const message = volume.command('message').description('Volume failure messages (microversion 3.3)');

  withOutput(
    message
      .command('list')
      .description('List volume failure messages')
      .option('--project <project>', 'filter results by project (name or ID) (admin only)')
      .option('--marker <message-id>', 'the last message ID of the previous page')
      .option('--limit <limit>', 'maximum number of messages to display', (v) => Number.parseInt(v, 10)),
    'list',
  ).action(act('list'));

  withOutput(
    message.command('show').description('Show a volume failure message').argument('<message-id>', 'message to show (ID)'),
    'show',
  ).action(act('show'));

  message
    .command('delete')
    .description('Delete volume failure messages')
    .argument('<message-id...>', 'message(s) to delete (ID)')
    .action(act('remove'));
}
