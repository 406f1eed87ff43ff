import { spawn } from 'node:child_process';
import { access, constants, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';

/**
 * Helpers for suites that drive the real Python OpenStack clients against a live server.
 * Debian's interpreter is used by absolute path: another python3 earlier on PATH (pyenv) lacks the packages.
 */
export const PYTHON = '/usr/bin/python3';
export const OPENSTACK = '/usr/bin/openstack';
export const CINDER = '/usr/bin/cinder';
export const TEMPEST = '/usr/bin/tempest';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time in milliseconds. */
  ms: number;
}

/**
 * Returns why the given tools cannot be used here, or null when they all can.
 * `modules` are Python modules that must import under PYTHON.
 */
export async function missingTools(executables: string[], modules: string[] = []): Promise<string | null> {
  for (const exe of [PYTHON, ...executables]) {
    try {
      await access(exe, constants.X_OK);
    } catch {
      return `${exe} is not installed (scripts/install-test-deps.sh installs it)`;
    }
  }
  if (modules.length > 0) {
    const r = await run(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { env: {} });
    if (r.code !== 0) return `Python modules ${modules.join(', ')} do not import under ${PYTHON}: ${r.stderr.trim().split('\n').pop()}`;
  }
  return null;
}

export interface RunOptions {
  /** Added to a clean environment (no OS_* variables inherited from the caller). */
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
  input?: string;
}

/**
 * Runs a command asynchronously: the server under test lives in this same process, so a synchronous
 * spawn would block the event loop that must answer the client.
 */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('OS_') && !k.startsWith('PYTHON')) env[k] = v;
  }
  Object.assign(env, { LC_ALL: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' }, opts.env ?? {});
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          stderr += `\n[killed after ${opts.timeoutMs} ms]`;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : null;
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export interface CloudUser {
  username: string;
  password: string;
  projectName: string;
}

export interface CloudEntryOptions {
  /** Block-storage major version the SDK and OSC use (`block_storage_api_version` / `volume_api_version`). */
  volumeApiVersion?: 2 | 3;
}

/** One clouds.yaml entry for a password user scoped to a project in the default domain. */
export function cloudEntry(authUrl: string, user: CloudUser, opts: CloudEntryOptions = {}): Record<string, unknown> {
  const v = opts.volumeApiVersion ?? 3;
  return {
    auth_type: 'password',
    auth: {
      auth_url: authUrl,
      username: user.username,
      password: user.password,
      project_name: user.projectName,
      user_domain_name: 'Default',
      project_domain_name: 'Default',
    },
    region_name: 'RegionOne',
    interface: 'public',
    identity_api_version: 3,
    volume_api_version: v,
    block_storage_api_version: v,
    has_image: false,
  };
}

/** Writes a clouds.yaml (mode 600) with the given named clouds; returns its path. */
export async function writeClouds(dir: string, clouds: Record<string, Record<string, unknown>>, file = 'clouds-test.yaml'): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, stringify({ clouds }), { mode: 0o600 });
  return path;
}

/** The environment for OSC / openstacksdk: a clouds.yaml and the cloud to use; HOME isolated from the user's. */
export function cloudEnv(configFile: string, cloud: string, home: string): Record<string, string> {
  return { OS_CLIENT_CONFIG_FILE: configFile, OS_CLOUD: cloud, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache') };
}

/** The environment for python-cinderclient's shell, which does not read clouds.yaml. */
export function cinderEnv(authUrl: string, user: CloudUser, home: string, apiVersion = '3'): Record<string, string> {
  return {
    OS_AUTH_URL: authUrl,
    OS_USERNAME: user.username,
    OS_PASSWORD: user.password,
    OS_PROJECT_NAME: user.projectName,
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    OS_REGION_NAME: 'RegionOne',
    OS_VOLUME_API_VERSION: apiVersion,
    OS_ENDPOINT_TYPE: 'publicURL',
    HOME: home,
  };
}

/** A readable account of a command run, for assertion messages. */
export function describe(cmd: string, args: string[], r: RunResult): string {
  return `$ ${[cmd, ...args].join(' ')}\n[exit ${r.code}, ${r.ms} ms]\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`;
}

/**
 * A CLI runner bound to one environment. `ok` asserts exit 0, `json` additionally parses stdout, `fails`
 * asserts a non-zero exit and returns the result for message checks.
 */
export class Cli {
  readonly log: string[] = [];
  constructor(
    private readonly exe: string,
    private readonly env: Record<string, string>,
    private readonly timeoutMs = 60_000,
  ) {}

  async run(args: string[]): Promise<RunResult> {
    const r = await run(this.exe, args, { env: this.env, timeoutMs: this.timeoutMs });
    this.log.push(`${[this.exe, ...args].join(' ')} → ${r.code} (${r.ms} ms)`);
    return r;
  }

  async ok(args: string[]): Promise<string> {
    const r = await this.run(args);
    if (r.code !== 0) throw new Error(`command failed\n${describe(this.exe, args, r)}`);
    return r.stdout;
  }

  async json<T = any>(args: string[]): Promise<T> {
    const out = await this.ok([...args, '-f', 'json']);
    try {
      return JSON.parse(out) as T;
    } catch {
      throw new Error(`not JSON from ${args.join(' ')}:\n${out}`);
    }
  }

  async fails(args: string[]): Promise<RunResult> {
    const r = await this.run(args);
    if (r.code === 0) throw new Error(`command unexpectedly succeeded\n${describe(this.exe, args, r)}`);
    return r;
  }
}
