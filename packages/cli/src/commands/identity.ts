import type { Command } from 'commander';
import { lazy, withOutput } from './common.js';

const act = (name: string) => lazy(() => import('../actions/identity.js'), name);

function enableFlags(cmd: Command, what: string): Command {
  return cmd.option('--enable', `enable the ${what}`).option('--disable', `disable the ${what}`);
}

export function registerIdentity(program: Command): void {
  const project = program.command('project').description('Identity projects (admin)');
  withOutput(
    enableFlags(
      project
        .command('create')
        .description('Create a project')
        .argument('<name>', 'project name')
        .option('--description <text>', 'project description')
        .option('--domain <domain>', 'owning domain (name or ID)'),
      'project',
    ),
    'show',
  ).action(act('projectCreate'));
  withOutput(
    project.command('list').description('List projects').option('--domain <domain>', 'only this domain (name or ID)'),
    'list',
  ).action(act('projectList'));
  withOutput(project.command('show').description('Show a project').argument('<project>', 'name or ID'), 'show').action(
    act('projectShow'),
  );
  enableFlags(
    project
      .command('set')
      .description('Change a project')
      .argument('<project>', 'name or ID')
      .option('--name <name>', 'new name')
      .option('--description <text>', 'new description'),
    'project',
  ).action(act('projectSet'));
  project
    .command('delete')
    .description('Delete projects')
    .argument('<project...>', 'names or IDs')
    .action(act('projectDelete'));

  const user = program.command('user').description('Identity users (admin)');
  withOutput(
    enableFlags(
      user
        .command('create')
        .description('Create a user')
        .argument('<name>', 'user name')
        .option('--password <password>', 'password')
        .option('--project <project>', 'default project (name or ID)')
        .option('--email <email>', 'email address')
        .option('--description <text>', 'user description')
        .option('--domain <domain>', 'owning domain (name or ID)'),
      'user',
    ),
    'show',
  ).action(act('userCreate'));
  withOutput(
    user.command('list').description('List users').option('--domain <domain>', 'only this domain (name or ID)'),
    'list',
  ).action(act('userList'));
  withOutput(user.command('show').description('Show a user').argument('<user>', 'name or ID'), 'show').action(
    act('userShow'),
  );
  enableFlags(
    user
      .command('set')
      .description('Change a user')
      .argument('<user>', 'name or ID')
      .option('--name <name>', 'new name')
      .option('--password <password>', 'new password')
      .option('--project <project>', 'new default project (name or ID)')
      .option('--email <email>', 'new email address')
      .option('--description <text>', 'new description'),
    'user',
  ).action(act('userSet'));
  user.command('delete').description('Delete users').argument('<user...>', 'names or IDs').action(act('userDelete'));

  const role = program.command('role').description('Identity roles and role assignments (admin)');
  role
    .command('add')
    .description('Grant a role to a user on a project')
    .argument('<role>', 'role name or ID')
    .requiredOption('--project <project>', 'project (name or ID)')
    .requiredOption('--user <user>', 'user (name or ID)')
    .action(act('roleAdd'));
  role
    .command('remove')
    .description("Remove a user's role on a project")
    .argument('<role>', 'role name or ID')
    .requiredOption('--project <project>', 'project (name or ID)')
    .requiredOption('--user <user>', 'user (name or ID)')
    .action(act('roleRemove'));
  withOutput(role.command('list').description('List roles'), 'list').action(act('roleList'));
}
