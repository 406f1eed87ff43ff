import type { Command } from 'commander';
import { lazy, withOutput } from './common.js';

const act = (name: string) => lazy(() => import('../actions/quota.js'), name);

const limit = (v: string): number => {
  const n = Number.parseInt(v, 10);
  if (!/^-?\d+$/.test(v.trim()) || n < -1) throw new Error('must be an integer >= -1');
  return n;
};

/** `quota show|set` for block-storage quotas of a project or a quota class, as python-openstackclient shapes them. */
export function registerQuota(program: Command): void {
  const quota = program.command('quota').description('Block storage quotas of projects and quota classes');
  withOutput(
    quota
      .command('show')
      .description('Show quotas of a project (default: the current one) or a quota class')
      .argument('[project-or-class]', 'project (name or ID), or class name with --class')
      .option('--class', 'show a quota class (default: the "default" class)')
      .option('--default', 'show the default quotas')
      .option('--usage', 'show usage (in use, reserved) too'),
    'show',
  ).action(act('show'));
  quota
    .command('set')
    .description('Set quotas of a project or a quota class')
    .argument('<project-or-class>', 'project (name or ID), or class name with --class')
    .option('--class', 'set a quota class (`default` applies to every project without its own limit)')
    .option('--volumes <n>', 'volumes', limit)
    .option('--snapshots <n>', 'snapshots', limit)
    .option('--gigabytes <n>', 'gigabytes of volumes and snapshots', limit)
    .option('--backups <n>', 'backups', limit)
    .option('--backup-gigabytes <n>', 'gigabytes of backups', limit)
    .option('--per-volume-gigabytes <n>', 'largest volume in gigabytes', limit)
    .option('--groups <n>', 'volume groups', limit)
    .option('--volume-type <type>', 'set --volumes, --snapshots and --gigabytes for this volume type only')
    .action(act('set'));
}
