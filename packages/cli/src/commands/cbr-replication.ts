import type { Command } from 'commander';
import { lazy, withOutput } from './common.js';

const act = (name: string) => lazy(() => import('../actions/cbr-replication.js'), name);

/**
 * CBR replication between regions (`serve --region NAME=TARGET`): the regions, and copies of a backup or of a
 * vault's backups into a vault of another region. otcextensions' CLI has no replication commands; these follow
 * its `cbr-…` naming.
 */
export function registerCbrReplication(program: Command): void {
  const repl = program
    .command('cbr-replication')
    .description('CBR replication between regions (capabilities, backup, vault)');

  withOutput(repl.command('capabilities').description('List the regions and where each can replicate to'), 'list').action(
    act('replicationCapabilities'),
  );

  withOutput(
    repl
      .command('backup')
      .description('Replicate a CBR backup into a vault of another region')
      .argument('<backup>', 'backup name or ID')
      .requiredOption('--region <region>', 'destination region')
      .requiredOption('--vault <vault>', 'destination vault (name or ID), on the destination region')
      .option('--project <project-id>', "destination project ID (default: the destination vault's)")
      .option('--name <name>', 'name of the replica (default: the backup name)')
      .option('--description <text>', 'description of the replica'),
    'show',
  ).action(act('replicateBackup'));

  withOutput(
    repl
      .command('vault')
      .description("Replicate every backup of a vault not yet in the destination vault")
      .argument('<vault>', 'source vault name or ID')
      .requiredOption('--region <region>', 'destination region')
      .requiredOption('--vault <vault>', 'destination vault (name or ID), on the destination region')
      .option('--project <project-id>', "destination project ID (default: the destination vault's)"),
    'show',
  ).action(act('replicateVault'));
}
