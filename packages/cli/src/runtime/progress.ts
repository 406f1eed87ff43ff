import type { SingleBar } from 'cli-progress';

/** A progress display; a no-op when nobody is watching. */
export interface Progress {
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
}

const NONE: Progress = { update() {}, stop() {} };

/** Bars are drawn (on stderr) only for a person at a terminal: a redirected stdout gets nothing extra. */
export function progressWanted(): boolean {
  return Boolean(process.stdout.isTTY && process.stderr.isTTY);
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

async function bar(
  format: string,
  total: number,
  formatValue?: (v: number, type: string) => string,
): Promise<SingleBar> {
  const { default: cliProgress } = await import('cli-progress');
  const b = new cliProgress.SingleBar(
    {
      format,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      barsize: 30,
      ...(formatValue
        ? {
            formatValue: (v: number, _o: unknown, type: string) =>
              type === 'value' || type === 'total' ? formatValue(v, type) : String(v),
          }
        : {}),
    },
    cliProgress.Presets.shades_classic,
  );
  b.start(total, 0, { status: '' });
  return b;
}

/** A byte counter for uploads and downloads (`total` undefined = unknown size). */
export async function byteProgress(label: string, total: number | undefined): Promise<Progress> {
  if (!progressWanted()) return NONE;
  const b = await bar(`${label} [{bar}] {percentage}% | {value} / {total} | {speed}`, total ?? 0, (v) =>
    formatBytes(v),
  );
  const started = Date.now();
  return {
    update(value) {
      const secs = Math.max((Date.now() - started) / 1000, 0.001);
      if (total === undefined) b.setTotal(value);
      b.update(value, { speed: `${formatBytes(value / secs)}/s` });
    },
    stop: () => b.stop(),
  };
}

/** A percentage bar for `--wait` (snapshot progress "NN%", or status only). */
export async function statusProgress(label: string): Promise<Progress> {
  if (!progressWanted()) return NONE;
  const b = await bar(`${label} [{bar}] {percentage}% | {status}`, 100);
  return { update: (v, payload) => b.update(v, payload), stop: () => b.stop() };
}
