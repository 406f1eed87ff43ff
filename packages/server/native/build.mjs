#!/usr/bin/env node
// Builds the sparse-io N-API addon into native/build/Release/sparse_io.node, and the librbd addon rbd_io.node
// when librbd's headers are installed (Debian librbd-dev, librados-dev), with the node-gyp that npm bundles,
// against the local Node headers (there may be no internet to download them). The server works without either
// (subprocess fallback, the rbd tool), so a failed build prints one line and exits 0 rather than failing
// `npm run setup`; a failed librbd build is retried without it, so it never costs the sparse-io addon. Pass
// --verbose to see the compiler output.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const verbose = process.argv.includes('--verbose');
const output = path.join(here, 'build', 'Release', 'sparse_io.node');

function skip(reason) {
  console.log(`sparse-io addon not built (${reason}); the subprocess fallback will be used`);
  process.exit(0);
}

function npmOutput(args) {
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    return execFileSync(npm, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function findNodeGyp() {
  const candidates = [];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {}
  // npm's own bundled copy, next to the running node or under the global prefix.
  const bundled = (prefix) => path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  candidates.push(bundled(path.resolve(path.dirname(process.execPath), '..')));
  if (process.env.npm_execpath) {
    candidates.push(path.resolve(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  const globalPrefix = npmOutput(['prefix', '-g']);
  if (globalPrefix) candidates.push(bundled(globalPrefix));
  return candidates.find((p) => existsSync(p));
}

// A directory whose include/node holds node_api.h and common.gypi for *this* Node version.
function findNodeDir() {
  const matches = (dir) => {
    const header = path.join(dir, 'include', 'node', 'node_version.h');
    if (!existsSync(header) || !existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) return false;
    const text = readFileSync(header, 'utf8');
    const num = (name) => text.match(new RegExp(`#define ${name} (\\d+)`))?.[1];
    return `v${num('NODE_MAJOR_VERSION')}.${num('NODE_MINOR_VERSION')}.${num('NODE_PATCH_VERSION')}` === process.version;
  };
  const configured = process.env.npm_config_nodedir || npmOutput(['config', 'get', 'nodedir']);
  const candidates = [configured, path.resolve(path.dirname(process.execPath), '..')].filter(
    (d) => d && d !== 'undefined' && d !== 'null',
  );
  return candidates.find(matches);
}

if (process.platform !== 'linux') skip(`${process.platform} is not Linux`);
const nodeGyp = findNodeGyp();
if (!nodeGyp) skip('node-gyp not found next to npm');
const nodeDir = findNodeDir();
if (!nodeDir) skip(`no local headers for Node ${process.version}`);

const rbdOutput = path.join(here, 'build', 'Release', 'rbd_io.node');
const gyp = (extra) =>
  spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodeDir}`, '--jobs=max', ...extra], {
    cwd: here,
    encoding: 'utf8',
    stdio: verbose ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_nodedir: nodeDir },
    timeout: 180_000,
  });
let result = gyp([]);
let rbdNote = existsSync(rbdOutput) ? 'librbd addon built' : 'librbd addon not built (no librbd-dev/librados-dev headers): rbd backends use the rbd tool';
if (result.status !== 0 || !existsSync(output)) {
  // node-gyp passes unknown options to gyp as variables: this one drops the rbd_io target.
  const again = gyp(['--have_librbd=0']);
  if (again.status === 0 && existsSync(output)) {
    const why = `${result.stderr ?? ''}`.split('\n').find((l) => /error/i.test(l));
    rbdNote = `librbd addon failed to build${why ? ` (${why.trim()})` : ''}: rbd backends use the rbd tool`;
    result = again;
  }
}
if (result.status !== 0 || !existsSync(output)) {
  const lastError = `${result.stderr ?? ''}`
    .split('\n')
    .filter((l) => /error/i.test(l))
    .at(0);
  skip(`node-gyp failed${result.error ? `: ${result.error.message}` : lastError ? `: ${lastError.trim()}` : ''}`);
}
try {
  const addon = createRequire(import.meta.url)(output);
  if (typeof addon.dataExtents !== 'function') skip('the built addon does not export dataExtents');
} catch (e) {
  skip(`the built addon does not load: ${e instanceof Error ? e.message : e}`);
}
console.log(`sparse-io addon built: ${path.relative(process.cwd(), output) || output}`);
console.log(rbdNote);
