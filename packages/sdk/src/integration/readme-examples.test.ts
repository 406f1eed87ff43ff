/**
 * The README examples are run, so they cannot rot: every fenced block right after an `<!-- example -->` comment
 * (or `<!-- example: … -->`) in packages/sdk/README.md and the repository's README.md. TypeScript blocks are
 * type-checked with the repository's compiler settings and run as modules against a live server (their
 * `@cinderbox/sdk` import resolves to the SDK's sources); `sh` blocks run under `bash -e` with `cinderbox` on the
 * PATH (the CLI from source). Each example runs as a member of a project of its own, through a clouds.yaml
 * (OS_CLIENT_CONFIG_FILE) whose cloud is `cinderbox`, as the server's own clouds.yaml names it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTestServer, type TestServer } from '../test-support/live.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../../..');
const sdkIndex = join(repo, 'packages/sdk/src/index.js');

export interface Example {
  file: string;
  line: number;
  lang: string;
  code: string;
}

/** Fenced blocks that directly follow an `<!-- example -->` / `<!-- example: … -->` comment line. */
export function extractExamples(markdown: string, file: string): Example[] {
  const lines = markdown.split('\n');
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^<!--\s*example(:.*)?\s*-->\s*$/.test(lines[i] ?? '')) continue;
    const fence = /^(`{3,})(\w+)/.exec(lines[i + 1] ?? '');
    if (!fence) throw new Error(`${file}:${i + 1}: an example marker must be followed by a fenced code block`);
    const end = lines.findIndex((l, j) => j > i + 1 && l.startsWith(fence[1] as string));
    if (end < 0) throw new Error(`${file}:${i + 2}: unterminated code block`);
    out.push({ file, line: i + 2, lang: fence[2] as string, code: lines.slice(i + 2, end).join('\n') });
  }
  return out;
}

const readmes = ['packages/sdk/README.md', 'README.md'];
const examples: Example[] = [];
for (const f of readmes) examples.push(...extractExamples(await readFile(join(repo, f), 'utf8'), f));

let ts: TestServer;
let dir: string;
let env: Record<string, string>;

before(async () => {
  ts = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] });
  dir = await mkdtemp(join(tmpdir(), 'cinderbox-readme-'));
  const bin = join(dir, 'bin');
  await run('mkdir', ['-p', bin]);
  // `cinderbox` = the CLI from source, with the SDK resolved to its sources (as packages/cli's tests run it).
  const shim = join(bin, 'cinderbox');
  await writeFile(
    shim,
    `#!/bin/sh\nTSX_TSCONFIG_PATH='${join(repo, 'packages/cli/tsconfig.tsx.json')}' exec '${process.execPath}' --import tsx '${join(repo, 'packages/cli/src/test-support/entry.ts')}' "$@"\n`,
  );
  await chmod(shim, 0o755);
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('OS_')) clean[k] = v;
  env = {
    ...clean,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    NO_COLOR: '1',
    OS_CLOUD: 'cinderbox',
  };
});
after(async () => {
  await ts?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The snippet as a module importing the SDK's sources. */
function moduleSource(e: Example): string {
  return `${e.code.replaceAll(`'@cinderbox/sdk'`, `'${sdkIndex}'`)}\nexport {};\n`;
}

const where = (e: Example) => `${e.file}:${e.line}`;

test('the READMEs mark their examples (TypeScript in the SDK README, shell in the repository README)', () => {
  const langs = examples.map((e) => `${e.file} ${e.lang}`);
  assert.ok(langs.filter((l) => l === 'packages/sdk/README.md ts').length >= 2, langs.join(', '));
  assert.ok(langs.includes('README.md sh'), langs.join(', '));
  for (const e of examples) assert.ok(['ts', 'sh'].includes(e.lang), `${where(e)}: unsupported example language ${e.lang}`);
  assert.throws(() => extractExamples('<!-- example -->\ntext\n', 'x.md'), /must be followed by a fenced code block/);
  assert.deepEqual(extractExamples('a\n<!-- example: why -->\n```sh\necho 1\n```\n```sh\nnot me\n```\n', 'y.md'), [
    { file: 'y.md', line: 3, lang: 'sh', code: 'echo 1' },
  ]);
});

test('the TypeScript examples type-check against the SDK', async () => {
  const files: string[] = [];
  for (const [i, e] of examples.entries()) {
    if (e.lang !== 'ts') continue;
    const f = join(dir, `example-${i}.mts`);
    await writeFile(f, moduleSource(e));
    files.push(f);
  }
  const tsconfig = join(dir, 'tsconfig.json');
  await writeFile(
    tsconfig,
    JSON.stringify({
      extends: join(repo, 'tsconfig.base.json'),
      compilerOptions: { noEmit: true, composite: false, declaration: false, declarationMap: false, typeRoots: [join(repo, 'node_modules/@types')] },
      files,
    }),
  );
  try {
    await run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], { cwd: repo, timeout: 180_000 });
  } catch (e) {
    const out = (e as { stdout?: string }).stdout ?? '';
    assert.fail(`README TypeScript examples do not type-check:\n${out}`);
  }
});

describe('the examples run against a live server', () => {
  for (const [i, e] of examples.entries()) {
    test(`${where(e)} (${e.lang})`, async () => {
      const f = join(dir, `run-${i}.${e.lang === 'ts' ? 'mts' : 'sh'}`);
      await writeFile(f, e.lang === 'ts' ? moduleSource(e) : e.code);
      // Each example works in a project of its own (the names in one example must not clash with another's).
      const name = `readme-${i}`;
      await ts.createMember(name);
      const clouds = join(dir, `clouds-${i}.yaml`);
      const cloud = {
        auth_type: 'password',
        auth: {
          auth_url: `${ts.url}/identity/v3`,
          username: name,
          password: `${name}-pw`,
          project_name: name,
          user_domain_name: 'Default',
          project_domain_name: 'Default',
        },
        identity_api_version: 3,
        volume_api_version: 3,
      };
      await writeFile(clouds, JSON.stringify({ clouds: { cinderbox: cloud } })); // JSON is YAML
      const [cmd, args] =
        e.lang === 'ts' ? [process.execPath, ['--import', 'tsx', f]] : ['/bin/bash', ['-euo', 'pipefail', f]];
      try {
        await run(cmd, args as string[], {
          cwd: repo,
          env: { ...env, OS_CLIENT_CONFIG_FILE: clouds },
          timeout: 300_000,
          maxBuffer: 16 << 20,
        });
      } catch (err) {
        const x = err as { code?: number; stdout?: string; stderr?: string };
        assert.fail(`${where(e)} exited ${x.code}\nstdout:\n${x.stdout}\nstderr:\n${x.stderr}`);
      }
    });
  }
});
