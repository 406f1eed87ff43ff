import type { Command } from 'commander';
import { lazy, withOutput } from './common.js';

const act = (name: string) => lazy(() => import('../actions/volume-attachment.js'), name);

/** The connector options OSC's `create --connect` and `set` share. */
function connectorOptions(c: Command): Command {
  return c
    .option('--initiator <initiator>', 'IQN of the initiator attaching to')
    .option('--ip <ip>', 'IP of the attaching host')
    .option('--host <host>', 'name of the attaching host')
    .option('--platform <platform>', 'platform type')
    .option('--os-type <ostype>', 'OS type')
    .option('--multipath', 'use multipath')
    .option('--no-multipath', 'do not use multipath (default)')
    .option('--mountpoint <mountpoint>', 'mountpoint volume will be attached at');
}

/**
 * `volume attachment create|set|complete|delete|list|show`, as python-openstackclient 6.0 shapes them (it needs
 * `--os-volume-api-version 3.27` or later; these pin it themselves); hangs under the `volume` command.
 */
export function registerVolumeAttachment(program: Command): void {
  const volume = program.commands.find((c) => c.name() === 'volume');
  if (!volume) throw new Error('register the volume command first');
  const attachment = volume.command('attachment').description('Volume attachments (microversion 3.27)');

  withOutput(
    connectorOptions(
      attachment
        .command('create')
        .description('Create an attachment for a volume (reserve it for a server; with --connect, connect it too)')
        .argument('<volume>', 'volume to create the attachment for (name or ID)')
        .argument('<server>', 'server (instance) ID to attach the volume to')
        .option('--connect', 'make an active connection using the connector options')
        .option('--no-connect', 'do not make an active connection (default)'),
    ).option('--mode <mode>', 'access mode: rw or ro (microversion 3.54)'),
    'show',
  ).action(act('create'));

  withOutput(
    connectorOptions(
      attachment.command('set').description('Update an attachment with a connector').argument('<attachment>', 'ID'),
    ),
    'show',
  ).action(act('set'));

  attachment
    .command('complete')
    .description('Complete an attachment: the volume is in-use (microversion 3.44)')
    .argument('<attachment>', 'ID')
    .action(act('complete'));

  attachment
    .command('delete')
    .description('Delete (detach) attachments')
    .argument('<attachment...>', 'ID(s)')
    .action(act('remove'));

  withOutput(
    attachment
      .command('list')
      .description('List volume attachments')
      .option('--project <project>', "filter results by project (name or ID) (admin only)")
      .option('--all-projects', 'attachments of every project (admin only)')
      .option('--volume-id <volume-id>', 'filter results by volume ID')
      .option('--status <status>', 'filter results by status')
      .option('--marker <attachment-id>', 'the last attachment ID of the previous page')
      .option('--limit <limit>', 'maximum number of attachments to display', (v) => Number.parseInt(v, 10)),
    'list',
  ).action(act('list'));

  withOutput(
    attachment.command('show').description('Show an attachment').argument('<attachment>', 'ID'),
    'show',
  ).action(act('show'));
}
