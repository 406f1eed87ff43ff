import { type Command, Option } from 'commander';
import { collect, lazy, nonNegativeInt, positiveInt, withOutput, withWait } from './common.js';

const act = (name: string) => lazy(() => import('../actions/cbr.js'), name);
const share = (name: string) => lazy(() => import('../actions/cbr-share.js'), name);

function paging(cmd: Command, what: string): Command {
  return cmd
    .option('--limit <n>', 'at most this many', positiveInt)
    .option('--marker <id>', `start after this ${what}`);
}

/**
 * Cloud Backup and Recovery v3 (otcextensions' `openstack cbr …` shape): vaults hold volumes and their backups,
 * policies schedule checkpoints, a checkpoint backs up every volume of a vault at once.
 */
export function registerCbr(program: Command): void {
  registerVault(program);
  registerPolicy(program);
  registerCheckpoint(program);
  registerCbrBackup(program);
  registerCbrMember(program);
  registerCbrTask(program);
}

function registerVault(program: Command): void {
  const vault = program
    .command('vault')
    .description('CBR vaults (create, list, show, set, delete, add-resource, remove-resource, associate-policy, dissociate-policy)');

  withOutput(
    vault
      .command('create')
      .description('Create a disk-backup vault')
      .argument('<name>', 'vault name')
      .requiredOption('--size <gib>', 'capacity in GiB', positiveInt)
      .option('--description <text>', 'vault description')
      .option('--resource <volume>', 'volume to protect (name or ID; repeatable)', collect)
      .option('--policy <policy>', 'backup policy to apply (name or ID)')
      .option('--consistent-level <level>', 'consistency level', 'crash_consistent')
      .option('--auto-bind', 'bind new volumes matching the bind rules automatically')
      .option('--bind-tag <key=value>', 'bind rule: new volumes with this metadata (empty value: any) (repeatable)', collect)
      .option('--auto-expand', 'grow the vault when it is full')
      .option('--backup-target <name>', "backup target of the vault's backups (serve --backup-target; default: the server's default)")
      .option('--lock-days <days>', 'immutable backups: each backup cannot be deleted for this many days (1-36500)', positiveInt)
      .addOption(
        new Option('--protect-type <type>', 'backup: protects volumes; replication: only receives replicas from another region')
          .choices(['backup', 'replication'])
          .default('backup'),
      ),
    'show',
  ).action(act('vaultCreate'));

  withOutput(
    paging(
      vault
        .command('list')
        .description('List vaults')
        .option('--name <name>', 'only vaults with this name')
        .option('--policy <policy>', 'only vaults with this policy (name or ID)')
        .option('--volume <volume>', 'only vaults protecting this volume (name or ID)'),
      'vault',
    ),
    'list',
  ).action(act('vaultList'));

  withOutput(vault.command('show').description('Show a vault').argument('<vault>', 'name or ID'), 'show').action(
    act('vaultShow'),
  );

  withOutput(
    vault
      .command('set')
      .description('Change a vault: name, capacity, automatic binding or expansion')
      .argument('<vault>', 'name or ID')
      .option('--name <name>', 'new name')
      .option('--size <gib>', 'new capacity in GiB', positiveInt)
      .option('--auto-bind', 'bind new volumes automatically')
      .option('--no-auto-bind', 'stop binding new volumes automatically')
      .option('--bind-tag <key=value>', 'replace the bind rules: new volumes with this metadata (repeatable)', collect)
      .option('--no-bind-tag', 'clear the bind rules (auto-bind then takes every new volume)')
      .option('--auto-expand', 'grow the vault when it is full')
      .option('--no-auto-expand', 'do not grow the vault'),
    'show',
  ).action(act('vaultSet'));

  vault
    .command('delete')
    .description('Delete vaults (and their backups)')
    .argument('<vault...>', 'names or IDs')
    .action(act('vaultDelete'));

  withOutput(
    vault
      .command('add-resource')
      .description('Add volumes to a vault')
      .argument('<vault>', 'name or ID')
      .argument('<volume...>', 'volumes (names or IDs)'),
    'show', // -f/-c only: a result list, nothing more to show with --long
  ).action(act('vaultAddResource'));

  withOutput(
    vault
      .command('remove-resource')
      .description('Remove volumes from a vault (their backups stay)')
      .argument('<vault>', 'name or ID')
      .argument('<volume...>', 'volume IDs (or names of volumes that still exist)'),
    'show', // -f/-c only: a result list, nothing more to show with --long
  ).action(act('vaultRemoveResource'));

  withOutput(
    vault
      .command('associate-policy')
      .description('Apply a backup policy to a vault')
      .argument('<vault>', 'name or ID')
      .argument('<policy>', 'name or ID'),
    'show',
  ).action(act('vaultAssociatePolicy'));

  withOutput(
    vault
      .command('dissociate-policy')
      .description('Remove a backup policy from a vault')
      .argument('<vault>', 'name or ID')
      .argument('<policy>', 'name or ID'),
    'show',
  ).action(act('vaultDissociatePolicy'));
}

function retentionOptions(cmd: Command): Command {
  return cmd
    .option('--pattern <rrule>', 'schedule as an iCalendar RRULE, e.g. FREQ=DAILY;BYHOUR=2;BYMINUTE=0 (repeatable)', collect)
    .option('--max-backups <n>', 'keep at most this many backups per volume', positiveInt)
    .option('--retention-days <days>', 'keep backups this many days', positiveInt)
    .option('--day-backups <n>', 'daily backups to keep (with --timezone)', nonNegativeInt)
    .option('--week-backups <n>', 'weekly backups to keep (with --timezone)', nonNegativeInt)
    .option('--month-backups <n>', 'monthly backups to keep (with --timezone)', nonNegativeInt)
    .option('--year-backups <n>', 'yearly backups to keep (with --timezone)', nonNegativeInt)
    .option('--timezone <tz>', 'time zone of the day/week/month/year counts, e.g. UTC+01:00')
    .option('--enable', 'enable the policy')
    .option('--disable', 'disable the policy');
}

function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('CBR backup policies (create, list, show, set, delete)');

  withOutput(
    retentionOptions(
      policy
        .command('create')
        .description('Create a backup policy (a schedule and a retention rule)')
        .argument('<name>', 'policy name'),
    ),
    'show',
  ).action(act('policyCreate'));

  withOutput(
    policy
      .command('list')
      .description('List policies')
      .option('--vault <vault>', 'only the policy of this vault (name or ID)'),
    'list',
  ).action(act('policyList'));

  withOutput(policy.command('show').description('Show a policy').argument('<policy>', 'name or ID'), 'show').action(
    act('policyShow'),
  );

  withOutput(
    retentionOptions(
      policy
        .command('set')
        .description('Change a policy: name, schedule, retention, enabled')
        .argument('<policy>', 'name or ID')
        .option('--name <name>', 'new name'),
    ),
    'show',
  ).action(act('policySet'));

  policy.command('delete').description('Delete policies').argument('<policy...>', 'names or IDs').action(act('policyDelete'));
}

function registerCheckpoint(program: Command): void {
  const checkpoint = program.command('checkpoint').description('CBR checkpoints (create, show): back up a vault now');

  withWait(
    withOutput(
      checkpoint
        .command('create')
        .description("Back up a vault's volumes now (all of them, or those given with --resource)")
        .argument('<vault>', 'name or ID')
        .option('--name <name>', 'name of the backups')
        .option('--description <text>', 'description of the backups')
        .option('--resource <volume>', 'back up only this volume of the vault (name or ID; repeatable)', collect)
        .option('--full', 'full backups (default: incremental on the latest backup)'),
      'show',
    ),
    'the checkpoint is available, with a progress bar',
  ).action(act('checkpointCreate'));

  withOutput(
    checkpoint.command('show').description('Show a checkpoint').argument('<checkpoint>', 'checkpoint ID'),
    'show',
  ).action(act('checkpointShow'));
}

function registerCbrBackup(program: Command): void {
  const backup = program.command('cbr-backup').description('CBR backups (list, show, delete, restore)');

  withOutput(
    paging(
      backup
        .command('list')
        .description('List CBR backups')
        .option('--vault <vault>', 'only backups in this vault (name or ID)')
        .option('--checkpoint <checkpoint>', 'only backups of this checkpoint (ID)')
        .option('--volume <volume-id>', 'only backups of this volume (ID)')
        .option('--name <name>', 'only backups with this name')
        .option('--status <status>', 'only backups in this status'),
      'backup',
    ),
    'list',
  ).action(act('backupList'));

  withOutput(backup.command('show').description('Show a CBR backup').argument('<backup>', 'name or ID'), 'show').action(
    act('backupShow'),
  );

  backup
    .command('delete')
    .description('Delete CBR backups')
    .argument('<backup...>', 'names or IDs')
    .action(act('backupDelete'));

  withWait(
    backup
      .command('restore')
      .description('Restore a backup onto its volume or onto another available volume')
      .argument('<backup>', 'name or ID')
      .option('--volume <volume>', 'restore onto this available volume (name or ID); default: the backed-up volume'),
    'the restored volume is available, with a progress bar',
  ).action(act('backupRestore'));
}

function registerCbrMember(program: Command): void {
  const member = program
    .command('cbr-member')
    .description('Share CBR backups with other projects (add, list, show, set, delete)');

  withOutput(
    member
      .command('add')
      .alias('create')
      .description('Share a backup with projects (each share starts pending until the project accepts it)')
      .argument('<backup>', 'backup name or ID')
      .argument('<project...>', 'receiving projects (IDs, or names when you may list projects)'),
    'list',
  ).action(share('memberAdd'));

  withOutput(
    paging(
      member
        .command('list')
        .description('List the projects a backup is shared with')
        .argument('<backup>', 'backup name or ID')
        .option('--status <status>', 'only shares in this status (pending, accepted, rejected)')
        .option('--project <project>', 'only the share with this project (ID or name)')
        .option('--vault <vault-id>', 'only shares accepted into this vault (ID)'),
      'share',
    ),
    'list',
  ).action(share('memberList'));

  withOutput(
    member
      .command('show')
      .description('Show the share of a backup with one project')
      .argument('<backup>', 'backup name or ID')
      .argument('<project>', 'receiving project (ID or name)'),
    'show',
  ).action(share('memberShow'));

  withOutput(
    member
      .command('set')
      .description('As the receiving project: accept a shared backup into a vault, reject it, or set it back to pending')
      .argument('<backup>', 'backup ID')
      .argument('<project>', 'your project (ID or name)')
      .requiredOption('--status <status>', 'accepted, rejected or pending')
      .option('--vault <vault>', 'your vault to accept the backup into (name or ID; needed with accepted)'),
    'show',
  ).action(share('memberSet'));

  member
    .command('delete')
    .description('Stop sharing a backup with projects')
    .argument('<backup>', 'backup name or ID')
    .argument('<project...>', 'receiving projects (IDs or names)')
    .action(share('memberDelete'));
}

function registerCbrTask(program: Command): void {
  const task = program
    .command('cbr-task')
    .alias('cbr-operation-log')
    .description('CBR operation logs: what backups, restores and deletions ran, and how they ended (list, show)');

  withOutput(
    paging(
      task
        .command('list')
        .description('List operation logs, newest first')
        .option('--operation-type <type>', 'backup, restore, delete, vault_delete, remove_resource, replication or sync')
        .option('--status <status>', 'success, skipped, failed, running, timeout or waiting')
        .option('--vault <vault>', 'only operations on this vault (name or ID)')
        .option('--volume <volume-id>', 'only operations on this volume (ID)')
        .option('--start-time <time>', 'only operations started at or after this time (YYYY-MM-DDTHH:MM:SSZ)')
        .option('--end-time <time>', 'only operations started at or before this time (YYYY-MM-DDTHH:MM:SSZ)'),
      'operation log',
    ),
    'list',
  ).action(share('taskList'));

  withOutput(
    task.command('show').description('Show an operation log').argument('<operation-log>', 'operation log ID'),
    'show',
  ).action(share('taskShow'));
}
