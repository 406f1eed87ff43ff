import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../test-support/cli.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cinderbox-completion-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function has(shell: string): boolean {
  return spawnSync(shell, ['-c', 'exit 0']).status === 0;
}

async function script(shell: 'bash' | 'zsh'): Promise<string> {
  const r = await runCli(['completion', shell]);
  assert.equal(r.code, 0, r.stderr);
  const file = join(dir, `completion.${shell}`);
  writeFileSync(file, r.stdout);
  return file;
}

/** Each case is the words typed so far (the last one being completed) and the candidates the shell offers. */
const CASES: [string[], string][] = [
  [['cinderbox', 'vol'], 'volume'],
  [['cinderbox', 'volume', 'sn'], 'snapshot'],
  [['cinderbox', 'volume', 'snapshot', ''], 'create list show set unset delete manage unmanage'],
  [['cinderbox', '--os-cloud', 'lab', 'block', 'storage', ''], 'volume snapshot resource'],
  [['cinderbox', 'volume', 'backup', 'record', ''], 'export import'],
  [['cinderbox', 'volume', 'set', 'vol1', '--b'], '--bootable'],
  [['cinderbox', 'completion', ''], 'bash zsh'],
];

test('the bash script completes commands, subcommands, options and argument choices from the command tree', async (t) => {
  if (!has('bash')) return t.skip('bash is not installed');
  const file = await script('bash');
  const body = CASES.map(
    ([words]) =>
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _cinderbox; echo "\${COMPREPLY[*]}"`,
  ).join('\n');
  const r = spawnSync('bash', ['--norc', '-c', `source '${file}'\n${body}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trimEnd().split('\n'), CASES.map(([, want]) => want));
});

test('the zsh script offers the same candidates, with descriptions, to _describe', async (t) => {
  // scripts/install-test-deps.sh installs zsh; elsewhere it may be missing.
  if (!has('zsh')) return t.skip('zsh is not installed');
  const file = await script('zsh');
  // Outside a completion widget: stand-ins for compdef and _describe print what would be offered.
  const body = [
    'compdef() { :; }',
    '_describe() { print -r -- "${(j: :)${(@)${(@P)4}%%:*}}"; described=("${(@P)4}"); }',
    `source '${file}'`,
    ...CASES.map(([words]) => {
      const cur = words[words.length - 1] ?? '';
      // _describe filters by the typed prefix; the stand-in does it here.
      return `words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}; _cinderbox | tr ' ' '\\n' | grep -e '^${cur}' | paste -sd' ' -`;
    }),
    "words=(cinderbox ''); CURRENT=2; _cinderbox >/dev/null; print -r -- ${(M)described:#volume:*}",
  ].join('\n');
  const r = spawnSync('zsh', ['-f', '-c', body], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.deepEqual(lines.slice(0, CASES.length), CASES.map(([, want]) => want));
  assert.match(lines[CASES.length] ?? '', /^volume:Block-storage volumes/);
});
