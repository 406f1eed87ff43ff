/**
 * The server's change stream (`GET /v3/{project}/cinderbox-events`) as the console reads it: one EventSource,
 * reopened after a loss with a growing pause, and what it delivered counted so a test (or a curious admin in the
 * devtools) can tell the stream from the polling that stands in for it while it is down.
 */

/** One `event: change` of the stream (services/events.ts on the server). */
export interface ChangeEvent {
  type: 'volume' | 'snapshot' | 'backup' | 'checkpoint' | 'restore' | 'repo-job';
  id: string;
  status: string;
  /** 0..100 where the resource reports progress, else null. */
  progress: number | null;
  project_id: string;
  at: string;
}

export type StreamState = 'connecting' | 'open' | 'down';

/**
 * The pause before reconnect attempt `attempt` (0-based): 1 s doubling to 30 s, with up to a fifth of jitter so a
 * restarted server is not met by every console at the same instant.
 */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.max(0, Math.min(attempt, 15)));
  return Math.round(base * (1 - 0.2 * random()));
}

/** Reads one `data:` payload; anything that is not a change event is dropped rather than trusted. */
export function parseChange(data: unknown): ChangeEvent | null {
  if (typeof data !== 'string') return null;
  try {
    const e = JSON.parse(data) as Partial<ChangeEvent>;
    if (typeof e.type !== 'string' || typeof e.id !== 'string' || typeof e.status !== 'string') return null;
    return { ...e, progress: typeof e.progress === 'number' ? e.progress : null } as ChangeEvent;
  } catch {
    return null;
  }
}

/** What the stream has delivered on this page, kept on `window.cinderboxStream`. */
export interface StreamRecord {
  received: number;
  /** `type:id` of the last 500 events, oldest first. */
  seen: string[];
}

export class ChangeStream {
  private es: EventSource | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly on: { event(e: ChangeEvent): void; state(s: StreamState): void },
  ) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.es?.close();
    this.es = null;
  }

  private connect(): void {
    if (this.stopped) return;
    const es = new EventSource(this.url);
    this.es = es;
    this.on.state('connecting');
    es.onopen = () => {
      this.attempt = 0;
      this.on.state('open');
    };
    es.onerror = () => {
      // The browser's own retry keeps one fixed delay and gives up for good on a refusal (a 401 after the
      // token expired, a 404 from an older server): closing and coming back after a growing pause covers both.
      es.close();
      if (this.es !== es || this.stopped) return;
      this.es = null;
      this.on.state('down');
      this.timer = setTimeout(() => {
        this.timer = null;
        this.connect();
      }, backoffMs(this.attempt++));
    };
    es.addEventListener('change', (m) => {
      const e = parseChange((m as MessageEvent).data);
      if (e) this.on.event(e);
    });
  }
}
