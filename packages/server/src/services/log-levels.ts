/**
 * Cinder's get-log / set-log (microversion 3.32) over this process's one pino logger. Every role runs in this
 * process, so only the root prefix changes what is logged; levels set for other prefixes are kept per binary and
 * read back, as Cinder's API shows them, though they cannot narrow pino's output.
 */
import type { Logger } from 'pino';
import type { AuthContext } from '../domain/auth-context.js';
import { badRequest, policyForbidden } from '../domain/errors.js';
import type { ServiceBinary } from '../domain/ports/service-store.js';
import { hostMatches } from './service-hosts.js';

/** The API and the three services a node runs (ServiceRegistry.ownServices): what get-log and set-log name. */
export const LOG_BINARIES = ['cinder-api', 'cinder-scheduler', 'cinder-volume', 'cinder-backup'] as const;

/** Python's level names, as Cinder's get-log shows them, against pino's. */
const PY_TO_PINO: Record<string, string> = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', WARN: 'warn', ERROR: 'error', CRITICAL: 'fatal' };
const PINO_TO_PY: Record<string, string> = { trace: 'DEBUG', debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR', fatal: 'CRITICAL', silent: 'CRITICAL' };

/** The prefix every cinderbox logger answers to: the process has one pino logger (children inherit its level). */
const ROOT_PREFIX = 'cinder';

export class LogLevels {
  /** Named prefixes set through set-log, per binary (pino has no named loggers; the root one is applied). */
  private readonly levels = new Map<string, Map<string, string>>();

  constructor(
    private readonly deps: {
      logger: Logger;
      /** This node's name (the host of its scheduler and backup services). */
      serviceHost: string;
      /** The services this node runs, as (host, binary): whose levels get-log reports and set-log's server matches. */
      ownServices: () => { host: string; binary: ServiceBinary }[];
    },
  ) {}

  private binariesFor(binary: string | null | undefined): string[] {
    if (binary === undefined || binary === null || binary === '' || binary === '*') return [...LOG_BINARIES];
    if ((LOG_BINARIES as readonly string[]).includes(binary)) return [binary];
    // Cinder's schema only allows the known binaries (and '*' or empty).
    throw badRequest(`Invalid input for field/attribute binary. Value: ${binary}. '${binary}' is not one of ${JSON.stringify(['', '*', ...LOG_BINARIES])}`);
  }

  private levelsOf(binary: string): Map<string, string> {
    let m = this.levels.get(binary);
    if (!m) {
      m = new Map();
      this.levels.set(binary, m);
    }
    return m;
  }

  /**
   * Sets the level of loggers named by `prefix` for the binaries asked for. Every role runs in this process
   * under one pino logger, so the root prefix (`cinder`, or none) changes what is logged; other prefixes are
   * kept and read back but cannot narrow pino's output.
   */
  setLogLevels(ctx: AuthContext, body: { binary?: string | null; server?: string | null; prefix?: string | null; level?: string | null }): void {
    if (!ctx.isAdmin) throw policyForbidden('volume_extension:services:update');
    const binaries = this.binariesFor(body.binary);
    const level = (body.level ?? '').toUpperCase();
    const pinoLevel = PY_TO_PINO[level];
    if (!pinoLevel) throw badRequest(`Invalid input for field/attribute level. Value: ${String(body.level)}. '${String(body.level)}' is not a 'level'`);
    if (body.server && !this.serverMatches(body.server)) return;
    const prefix = body.prefix ?? '';
    for (const b of binaries) this.levelsOf(b).set(prefix === '' ? ROOT_PREFIX : prefix, level === 'WARN' ? 'WARNING' : level);
    if (prefix === '' || ROOT_PREFIX.startsWith(prefix)) this.deps.logger.level = pinoLevel;
  }

  getLogLevels(ctx: AuthContext, body: { binary?: string | null; server?: string | null; prefix?: string | null }): { host: string; binary: string; levels: Record<string, string> }[] {
    if (!ctx.isAdmin) throw policyForbidden('volume_extension:services:update');
    const binaries = this.binariesFor(body.binary);
    if (body.server && !this.serverMatches(body.server)) return [];
    const prefix = body.prefix ?? '';
    const root = PINO_TO_PY[this.deps.logger.level] ?? 'INFO';
    const node = this.deps.serviceHost;
    const hostsOf = (b: string): string[] =>
      b === 'cinder-volume' ? this.deps.ownServices().filter((s) => s.binary === b).map((s) => s.host) : [node];
    const out: { host: string; binary: string; levels: Record<string, string> }[] = [];
    for (const b of binaries) {
      const levels: Record<string, string> = {};
      for (const [p, l] of [[ROOT_PREFIX, root] as const, ...this.levelsOf(b)]) {
        if (p === ROOT_PREFIX) {
          if (ROOT_PREFIX.startsWith(prefix)) levels[ROOT_PREFIX] = root;
        } else if (p.startsWith(prefix)) levels[p] = l;
      }
      for (const host of hostsOf(b)) out.push({ host, binary: b, levels: { ...levels } });
    }
    return out;
  }

  private serverMatches(server: string): boolean {
    return this.deps.ownServices().some((s) => hostMatches(s.host, server));
  }
}
