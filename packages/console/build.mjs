// Bundles the console into dist/: one hashed script, one hashed stylesheet (served as immutable), and index.html
// naming them (served no-cache), so a new build is picked up at once and assets are never fetched twice.
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/** Builds the console into `outDir` (default packages/console/dist); returns the dist directory. */
export async function buildConsole(outDir = join(here, 'dist')) {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(join(outDir, 'assets'), { recursive: true });
  const result = await esbuild.build({
    entryPoints: [join(here, 'app', 'main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outs = Object.keys(result.metafile.outputs);
  const js = outs.find((o) => o.endsWith('.js'));
  const css = outs.find((o) => o.endsWith('.css'));
  if (!js || !css) throw new Error('console build: esbuild produced no script or stylesheet');
  const html = (await readFile(join(here, 'app', 'index.html'), 'utf8'))
    .replace('__JS__', `assets/${basename(js)}`)
    .replace('__CSS__', `assets/${basename(css)}`);
  await writeFile(join(outDir, 'index.html'), html);
  return outDir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = await buildConsole();
  console.log(`console: built into ${dir}`);
}
