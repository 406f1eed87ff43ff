import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { buildProgram } from './main.js';
import { VERSION } from './version.js';

const here = dirname(fileURLToPath(import.meta.url));

function leaves(cmd: Command, path: string[] = []): Array<{ path: string[]; cmd: Command }> {
  if (cmd.commands.length === 0) return [{ path, cmd }];
  return cmd.commands.flatMap((c) => leaves(c, [...path, c.name()]));
}

test('every command and command group has a description and help text', () => {
  const program = buildProgram();
  const groups = program.commands.map((c) => c.name());
  for (const g of ['serve', 'volume', 'snapshot', 'backup', 'project', 'user', 'role', 'vault', 'policy', 'checkpoint', 'cbr-backup'])
    assert.ok(groups.includes(g), g);
  const all = leaves(program);
  assert.ok(all.length >= 30, `${all.length} commands`);
  for (const { path, cmd } of all) {
    assert.ok(cmd.description().length >= 8, `${path.join(' ')} has a description`);
    assert.match(cmd.helpInformation(), /-h, --help/, path.join(' '));
  }
  for (const group of program.commands) assert.ok(group.description().length >= 8, group.name());
});

test('list and show commands take -f/-c; lists take --long; waiting commands take --wait and --wait-timeout', () => {
  for (const { path, cmd } of leaves(buildProgram())) {
    const flags = cmd.options.map((o) => o.long);
    const name = path.at(-1);
    if (name === 'list' && path[0] !== 'role') assert.ok(flags.includes('--long'), path.join(' '));
    if (name === 'list' || name === 'show') {
      assert.ok(flags.includes('--format') && flags.includes('--column'), path.join(' '));
    }
    if (['snapshot', 'backup'].includes(path[0] ?? '') && ['create', 'delete'].includes(name ?? '')) {
      assert.ok(flags.includes('--wait') && flags.includes('--wait-timeout'), path.join(' '));
    }
    if (['checkpoint create', 'cbr-backup restore'].includes(path.join(' '))) {
      assert.ok(flags.includes('--wait') && flags.includes('--wait-timeout'), path.join(' '));
    }
  }
});

test('the launcher answers --version with the same version as the program', (t) => {
  if (!existsSync(join(here, '..', 'dist', 'version.js'))) {
    t.skip('the CLI is not built (npm run build)');
    return;
  }
  const r = spawnSync(process.execPath, [join(here, '..', 'bin', 'cinderbox.js'), '--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.equal(r.stdout, `${VERSION}\n`);
  assert.equal(buildProgram().version(), VERSION);
});
