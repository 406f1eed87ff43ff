/**
 * The layering rule, checked rather than hoped for (README, "Architecture"):
 *   api/ → services/ → domain/ (entities, rules, ports) ← store/, drivers/, backup-repo/, tasks/ (adapters)
 * main.ts (the composition root) is the only module that names adapters and wires them to services. The graph is
 * read with TypeScript's own import scanner, so type-only imports count too: a service that names a table type
 * depends on the store as much as one that queries it.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
const serverSrc = resolve(here, '..');
const packagesDir = resolve(serverSrc, '..', '..');

/** Production sources only: tests and their support code may reach anywhere to set a scene up. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name === 'node_modules' || name === 'dist' || name === 'test-support' || name === 'tests') continue;
      out.push(...sources(p));
    } else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

interface Edge {
  from: string;
  /** Resolved path for relative imports, the bare specifier otherwise. */
  to: string;
}

function imports(file: string): Edge[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map(({ fileName }) => ({
    from: file,
    to: fileName.startsWith('.') ? resolve(dirname(file), fileName).replace(/\.js$/, '.ts') : fileName,
  }));
}

const within = (root: string, p: string) => !relative(root, p).startsWith('..');
const layer = (p: string) => relative(serverSrc, p).split('/')[0] ?? '';
const ADAPTERS = new Set(['store', 'drivers', 'backup-repo', 'tasks', 'backup-repo-open.ts']);

function violations(files: string[], rule: (e: Edge) => string | null): string[] {
  const out: string[] = [];
  for (const f of files) for (const e of imports(f)) {
    const why = rule(e);
    if (why) out.push(`${relative(packagesDir, e.from)} → ${e.to.startsWith('/') ? relative(packagesDir, e.to) : e.to}: ${why}`);
  }
  return out;
}

describe('layering', () => {
  const server = sources(serverSrc);

  test('api/ imports services, domain and config, never the store or an adapter', () => {
    const found = violations(
      server.filter((f) => layer(f) === 'api'),
      (e) => (e.to.startsWith('/') && ADAPTERS.has(layer(e.to)) ? 'the HTTP layer talks to services' : null),
    );
    assert.deepEqual(found, []);
  });

  test('services/ import ports, never an adapter', () => {
    const found = violations(
      server.filter((f) => layer(f) === 'services'),
      (e) => (e.to.startsWith('/') && ADAPTERS.has(layer(e.to)) ? 'services depend on ports in domain/' : null),
    );
    assert.deepEqual(found, []);
  });

  test('domain/ imports nothing outside itself (node built-ins and api-schema types aside)', () => {
    const domain = resolve(serverSrc, 'domain');
    const found = violations(
      server.filter((f) => layer(f) === 'domain'),
      (e) => {
        if (e.to.startsWith('/')) return within(domain, e.to) ? null : 'domain/ is the innermost layer';
        if (e.to.startsWith('node:') || e.to.startsWith('@cinderbox/api-schema')) return null;
        return 'domain/ uses no npm package';
      },
    );
    assert.deepEqual(found, []);
  });

  test('the SDK imports no server code', () => {
    const server = resolve(packagesDir, 'server');
    const found = violations(sources(resolve(packagesDir, 'sdk', 'src')), (e) =>
      (e.to.startsWith('/') && within(server, e.to)) || e.to.startsWith('@cinderbox/server') ? 'the SDK runs without the server' : null,
    );
    assert.deepEqual(found, []);
  });

  test('the scanner sees imports (a broken scan would pass every rule)', () => {
    const main = imports(join(serverSrc, 'main.ts')).map((e) => e.to);
    assert.ok(main.some((t) => t.endsWith('/store/database.ts')), 'main.ts imports the store');
    assert.ok(server.length > 50, `found ${server.length} server sources`);
  });
});
