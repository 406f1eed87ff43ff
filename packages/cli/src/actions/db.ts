import type { CopyProgress } from '@cinderbox/server';
import type { ActionContext } from '../runtime/context.js';
import { CliError, UsageError } from '../runtime/errors.js';
import { progressWanted } from '../runtime/progress.js';

function option(ctx: ActionContext, name: string, flag: string, env: string): string {
  const v = ctx.opts[name];
  const value = typeof v === 'string' && v !== '' ? v : process.env[env];
  if (!value) throw new UsageError(`${flag} is required (or set ${env})`);
  return value;
}

/**
 * One line per table on stderr as it completes (stdout keeps the summary, which -f json makes machine-readable);
 * at a terminal, the table being copied is also shown with its running row count.
 */
function tableLines(): { onProgress: (p: CopyProgress) => void; clear: () => void } {
  const live = progressWanted();
  let drawn = false;
  const clear = () => {
    if (drawn) process.stderr.write('\r\x1b[K');
    drawn = false;
  };
  return {
    clear,
    onProgress(p) {
      if (p.done) {
        clear();
        process.stderr.write(`copied ${p.table}: ${p.copied} row${p.copied === 1 ? '' : 's'}\n`);
      } else if (live) {
        process.stderr.write(`\r\x1b[Kcopying ${p.table}: ${p.copied}/${p.total} rows`);
        drawn = true;
      }
    },
  };
}

export async function copy(ctx: ActionContext): Promise<void> {
  const dataDir = option(ctx, 'fromDataDir', '--from-data-dir', 'CINDERBOX_DATA_DIR');
  const url = option(ctx, 'to', '--to', 'CINDERBOX_DATABASE_URL');
  if (!/^postgres(ql)?:\/\//.test(url)) throw new UsageError('--to must be a postgres:// or postgresql:// URL');
  let server: typeof import('@cinderbox/server');
  try {
    server = await import('@cinderbox/server');
  } catch (err) {
    throw new CliError(`the server package is not installed or not built (run npm run setup): ${(err as Error).message}`);
  }
  const { resolve } = await import('node:path');
  const lines = tableLines();
  let summary: Awaited<ReturnType<typeof server.copyDataDirDatabase>>;
  try {
    summary = await server.copyDataDirDatabase({ dataDir: resolve(dataDir), targetUrl: url }, lines.onProgress);
  } catch (e) {
    lines.clear();
    throw e instanceof server.CopyError ? new CliError(e.message) : e;
  }
  ctx.printList({ headers: ['Table', 'Rows'], rows: summary.tables.map((t) => [t.table, t.rows]) });
  process.stderr.write(
    `copied ${summary.rows} rows in ${summary.tables.length} tables from ${summary.source} to ${summary.target} ` +
      `in ${(summary.elapsedMs / 1000).toFixed(1)} s\n` +
      `start the server with CINDERBOX_DATABASE_URL=<the target> and --data-dir ${resolve(dataDir)}\n`,
  );
}
