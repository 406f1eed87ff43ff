import type { Connection, Resource, WaitResult } from '@cinderbox/sdk';
import type { Command } from 'commander';
import { type FormatOptions, formatList, formatShow, type ListData, type OutputFormat } from '../output/format.js';
import { CliError, EXIT, UsageError, WaitError } from './errors.js';
import { statusProgress } from './progress.js';

/** Root options that map onto `OS_*` variables for the SDK's config loader. */
const ENV_OPTIONS: Record<string, string> = {
  osAuthUrl: 'OS_AUTH_URL',
  osUsername: 'OS_USERNAME',
  osPassword: 'OS_PASSWORD',
  osProjectName: 'OS_PROJECT_NAME',
  osProjectId: 'OS_PROJECT_ID',
  osUserDomainName: 'OS_USER_DOMAIN_NAME',
  osProjectDomainName: 'OS_PROJECT_DOMAIN_NAME',
  osRegionName: 'OS_REGION_NAME',
  osInterface: 'OS_INTERFACE',
  osVolumeApiVersion: 'OS_VOLUME_API_VERSION',
  osToken: 'OS_TOKEN',
};

/** Root flags that override the selected cloud's `auth:` values. */
const AUTH_FLAGS: Record<string, string> = {
  osAuthUrl: 'authUrl',
  osUsername: 'username',
  osPassword: 'password',
  osProjectName: 'projectName',
  osProjectId: 'projectId',
  osUserDomainName: 'userDomainName',
  osProjectDomainName: 'projectDomainName',
  osToken: 'token',
};

export type Options = Record<string, unknown>;

/** What an action gets: its positional arguments, all options (globals included) and helpers. */
export class ActionContext {
  readonly args: unknown[];
  readonly opts: Options;
  readonly cmd: Command;
  #conn: Connection | undefined;

  constructor(args: unknown[], cmd: Command) {
    this.args = args;
    this.cmd = cmd;
    this.opts = cmd.optsWithGlobals();
  }

  /**
   * The connection, built once from `--os-cloud`/`OS_CLOUD`, clouds.yaml, the `OS_*` variables and the root
   * flags. A flag overrides both the matching variable and the selected cloud's value (OSC's precedence).
   */
  async conn(): Promise<Connection> {
    if (this.#conn) return this.#conn;
    const { Connection, connectionOptionsFromCloud, loadCloudConfig } = await import('@cinderbox/sdk');
    const o = this.opts;
    const env: Record<string, string | undefined> = { ...process.env };
    for (const [opt, name] of Object.entries(ENV_OPTIONS)) {
      const v = o[opt];
      if (typeof v === 'string') env[name] = v;
    }
    const cfg = loadCloudConfig({
      cloud: typeof o.osCloud === 'string' ? o.osCloud : undefined,
      regionName: typeof o.osRegionName === 'string' ? o.osRegionName : undefined,
      env,
    });
    for (const [opt, key] of Object.entries(AUTH_FLAGS)) {
      const v = o[opt];
      if (typeof v === 'string') (cfg.auth as Record<string, unknown>)[key] = v;
    }
    if (typeof o.osInterface === 'string') cfg.interface = o.osInterface;
    if (typeof o.osVolumeApiVersion === 'string' && o.osVolumeApiVersion.includes('.')) {
      cfg.blockStorage = {
        ...cfg.blockStorage,
        defaultMicroversion: o.osVolumeApiVersion,
      };
    }
    const debug = o.debug === true;
    this.#conn = new Connection(
      connectionOptionsFromCloud(cfg, {
        userAgent: 'cinderbox-cli/0.1.0',
        ...(debug
          ? {
              logger: {
                debug: (m: string, d?: Record<string, unknown>) =>
                  process.stderr.write(`DEBUG ${m} ${d ? JSON.stringify(d) : ''}\n`),
              },
            }
          : {}),
      }),
    );
    return this.#conn;
  }

  get format(): FormatOptions {
    const columns = this.opts.column;
    return {
      format: (this.opts.format as OutputFormat | undefined) ?? 'table',
      columns: Array.isArray(columns) ? (columns as string[]) : undefined,
      colour: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
    };
  }

  printList(data: ListData): void {
    process.stdout.write(formatList(data, this.format));
  }

  printShow(record: Record<string, unknown>): void {
    process.stdout.write(formatShow(record, this.format));
  }

  /** `--wait-timeout` in ms (default 15 min). */
  get waitTimeoutMs(): number {
    const s = this.opts.waitTimeout;
    return typeof s === 'number' ? s * 1000 : 15 * 60_000;
  }

  /**
   * Waits for `status` with a progress bar ("NN%" progress when the resource reports it); a failure status,
   * a timeout or Ctrl-C is a {@link WaitError} (exit 3).
   */
  async waitFor<R extends Resource>(
    waiter: (opts: {
      onProgress: (p: number | undefined, r: Resource) => void;
      waitTimeoutMs: number;
      signal: AbortSignal;
      minDelayMs: number;
      maxDelayMs: number;
    }) => Promise<WaitResult<R>>,
    what: string,
  ): Promise<R> {
    const bar = await statusProgress(what);
    const ctrl = new AbortController();
    const onSigint = () => ctrl.abort();
    process.once('SIGINT', onSigint);
    let last = 0;
    try {
      const r = await waiter({
        onProgress: (p, res) => {
          if (p !== undefined) last = p;
          bar.update(last, { status: String(res.get('status') ?? '') });
        },
        waitTimeoutMs: this.waitTimeoutMs,
        signal: ctrl.signal,
        minDelayMs: 250,
        maxDelayMs: 5000,
      });
      if (r.state === 'success') bar.update(100, { status: String(r.status ?? '') });
      bar.stop();
      if (r.state === 'failure') throw new WaitError(`${what}: ended in status ${r.status}`);
      if (r.state === 'timeout')
        throw new WaitError(
          `${what}: timed out after ${Math.round(r.elapsedMs / 1000)} s (status ${r.status ?? 'unknown'})`,
        );
      if (r.state === 'aborted') throw new WaitError(`${what}: interrupted (status ${r.status ?? 'unknown'})`);
      return r.resource;
    } finally {
      bar.stop();
      process.removeListener('SIGINT', onSigint);
    }
  }
}

/** Reports an error the way OSC does (message, HTTP status, request id) and returns the exit code. */
export async function reportError(e: unknown): Promise<number> {
  if (e instanceof UsageError) {
    process.stderr.write(`error: ${e.message}\n`);
    return EXIT.usage;
  }
  if (e instanceof WaitError || e instanceof CliError) {
    process.stderr.write(`Error: ${e.message}\n`);
    return e.exitCode;
  }
  const sdk = await import('@cinderbox/sdk');
  // An auth failure wraps Keystone's HTTP error: report the server's words either way.
  const http = sdk.isHttpError(e) ? e : e instanceof Error && sdk.isHttpError(e.cause) ? e.cause : undefined;
  if (http) {
    const msg = http.details ?? http.message;
    process.stderr.write(
      `Error: ${msg} (HTTP ${http.status})${http.requestId ? ` (Request-ID: ${http.requestId})` : ''}\n`,
    );
    return EXIT.api;
  }
  process.stderr.write(
    `Error: ${e instanceof Error ? e.message : String(e)}${e instanceof Error && e.cause ? ` (${String((e.cause as Error).message ?? e.cause)})` : ''}\n`,
  );
  return EXIT.api;
}

/** Runs an action and turns what it throws into an exit code. */
export async function runAction(
  args: unknown[],
  cmd: Command,
  fn: (ctx: ActionContext) => Promise<void>,
): Promise<void> {
  let code: number = EXIT.ok;
  try {
    await fn(new ActionContext(args, cmd));
  } catch (e) {
    code = await reportError(e);
  }
  process.exitCode = code;
  // Idle keep-alive sockets would hold the process open for a while after the work is done; an unref'd
  // timer fires only if something still holds the loop, and never delays a process that can exit.
  setTimeout(() => process.exit(code), 0).unref();
}
