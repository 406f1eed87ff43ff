/**
 * The named middleware stack (smithy/octokit style).
 * @packageDocumentation
 */
import { HeaderMap } from './headers.js';
import type { Handler, HttpRequest, HttpResponse, Middleware } from './types.js';

/**
 * Marks a terminal handler that enforces {@link HttpRequest.deadline} itself (the node:http transport), so the
 * timeout step need not build an AbortController per attempt.
 *
 * @example
 * ```ts
 * const terminal = Object.assign(handler, { [ENFORCES_DEADLINE]: true });
 * ```
 */
export const ENFORCES_DEADLINE: unique symbol = Symbol.for('cinderbox.sdk.enforcesDeadline');

interface Step {
  name: string;
  middleware: Middleware;
}

/** Where to insert a step. @example `{ before: 'retry' }` */
export interface StepPosition {
  before?: string;
  after?: string;
}

/**
 * An ordered list of named middleware around a terminal handler (fetch). The first step is the outermost.
 *
 * @example
 * ```ts
 * conn.pipeline.use('trace', (req, next) => { console.log(req.method, req.url); return next(req); }, { before: 'logging' });
 * conn.pipeline.remove('retry');
 * ```
 */
export class Pipeline {
  readonly #steps: Step[] = [];
  readonly #terminal: Handler;

  constructor(terminal: Handler) {
    this.#terminal = terminal;
  }

  /** Adds (or replaces, when the name exists) a step; appended innermost unless a position is given. */
  use(name: string, middleware: Middleware, position: StepPosition = {}): this {
    this.#chain = undefined;
    const existing = this.#steps.findIndex((s) => s.name === name);
    if (existing >= 0) {
      this.#steps[existing] = { name, middleware };
      return this;
    }
    const anchor = position.before ?? position.after;
    const index = anchor === undefined ? -1 : this.#steps.findIndex((s) => s.name === anchor);
    if (anchor !== undefined && index < 0) throw new Error(`pipeline step not found: ${anchor}`);
    if (index < 0) this.#steps.push({ name, middleware });
    else this.#steps.splice(position.before !== undefined ? index : index + 1, 0, { name, middleware });
    return this;
  }

  /** Removes a step by name; returns whether it existed. */
  remove(name: string): boolean {
    this.#chain = undefined;
    const i = this.#steps.findIndex((s) => s.name === name);
    if (i >= 0) this.#steps.splice(i, 1);
    return i >= 0;
  }

  /** Step names, outermost first. */
  names(): string[] {
    return this.#steps.map((s) => s.name);
  }

  /** A copy of this pipeline without the named steps (e.g. a transport without auth). */
  without(...names: string[]): Pipeline {
    const copy = new Pipeline(this.#terminal);
    for (const s of this.#steps) if (!names.includes(s.name)) copy.#steps.push(s);
    return copy;
  }

  /** Runs a request through every step and the terminal handler. */
  handle(req: HttpRequest): Promise<HttpResponse> {
    if ((this.#terminal as { [ENFORCES_DEADLINE]?: boolean })[ENFORCES_DEADLINE] === true) req.context.terminalDeadline = true;
    this.#chain ??= this.#compose();
    return this.#chain(req);
  }

  /** The steps folded into one handler, rebuilt only after `use`/`remove` (not per request). */
  #chain: Handler | undefined;

  #compose(): Handler {
    let handler: Handler = this.#terminal;
    for (let i = this.#steps.length - 1; i >= 0; i--) {
      const { middleware } = this.#steps[i]!;
      const next = handler;
      handler = (r) => middleware(r, next);
    }
    return handler;
  }
}

/** Clones a request with fresh headers so a retry cannot see a previous attempt's mutations. @internal */
export function cloneRequest(req: HttpRequest, patch: Partial<HttpRequest> = {}): HttpRequest {
  return { ...req, headers: new HeaderMap(req.headers), ...patch };
}
