import type { Command } from 'commander';
import { collect, keyValue, lazy, withOutput } from './common.js';

const act = (name: string) => lazy(() => import('../actions/vault-extra.js'), name);

/** Vault tags and `vault migrate-resource`; they hang under the `vault` command (register it first). */
export function registerVaultExtra(program: Command): void {
  const vault = program.commands.find((c) => c.name() === 'vault');
  if (!vault) throw new Error('register the vault command first');

  withOutput(
    vault
      .command('migrate-resource')
      .description('Move volumes, with their backups, from a vault to another')
      .argument('<vault>', 'the vault holding them (name or ID)')
      .argument('<volume...>', 'volume IDs (or names of volumes that still exist)')
      .requiredOption('--destination <vault>', 'the vault they move to (name or ID)'),
    'show', // -f/-c only: a result list
  ).action(act('migrateResource'));

  const tag = vault.command('tag').description('Vault tags (list, add, remove)');
  withOutput(
    tag
      .command('list')
      .description("List a vault's tags, or without a vault every tag key of the project's vaults with its values")
      .argument('[vault]', 'name or ID'),
    'list',
  ).action(act('tagList'));
  tag
    .command('add')
    .description('Add tags to a vault (a key already there takes the new value)')
    .argument('<vault>', 'name or ID')
    .requiredOption('--tag <key=value>', 'tag (repeatable)', keyValue)
    .action(act('tagAdd'));
  tag
    .command('remove')
    .description('Remove tags from a vault')
    .argument('<vault>', 'name or ID')
    .requiredOption('--tag <key>', 'tag key (repeatable)', collect)
    .action(act('tagRemove'));
}
