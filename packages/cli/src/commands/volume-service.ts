import type { Command } from 'commander';
import { lazy, withOutput } from './common.js';

const act = (name: string) => lazy(() => import('../actions/volume-service.js'), name);

/**
 * `volume service list|set`, `volume host set` (freeze/thaw) and `volume backend capability show|pool list`, as
 * python-openstackclient shapes them; they hang under the `volume` command.
 */
export function registerVolumeService(program: Command): void {
  const volume = program.commands.find((c) => c.name() === 'volume');
  if (!volume) throw new Error('register the volume command first');

  const service = volume.command('service').description('Block storage services (admin)');
  withOutput(
    service
      .command('list')
      .description('List services')
      .option('--host <host>', 'only services on this host')
      .option('--service <service>', 'only this binary (cinder-volume, cinder-backup, cinder-scheduler)'),
    'list',
  ).action(act('serviceList'));
  service
    .command('set')
    .description('Enable or disable a service')
    .argument('<host>', 'the service\'s host (host@backend for a volume service)')
    .argument('<service>', 'the binary, e.g. cinder-volume')
    .option('--enable', 'let the service take new work')
    .option('--disable', 'stop new work going to the service')
    .option('--disable-reason <reason>', 'why the service is disabled (with --disable)')
    .action(act('serviceSet'));

  const host = volume.command('host').description('Volume hosts (admin)');
  host
    .command('set')
    .description('Freeze (--disable) or thaw (--enable) a volume host')
    .argument('<host-name>', 'host@backend, or a node for all its backends')
    .option('--enable', 'thaw the host')
    .option('--disable', 'freeze the host: no management operations on its volumes')
    .action(act('hostSet'));

  const backend = volume.command('backend').description('Volume backends (admin)');
  withOutput(
    backend.command('capability').description('Backend capabilities').command('show').description('Show a backend\'s capabilities').argument('<host>', 'host@backend'),
    'list',
  ).action(act('capabilityShow'));
  withOutput(backend.command('pool').description('Backend pools').command('list').description('List pools'), 'list').action(act('poolList'));
}
