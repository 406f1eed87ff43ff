import type { ActionContext } from '../runtime/context.js';
import { CliError, UsageError } from '../runtime/errors.js';
import { defined, str } from './common.js';

export async function serviceList(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const services = await (await ctx.conn()).blockStorage.services(defined({ host: str(o.host), binary: str(o.service) }));
  const long = o.long === true;
  const headers = ['Binary', 'Host', 'Zone', 'Status', 'State', 'Updated At'];
  ctx.printList({
    headers: long ? [...headers, 'Disabled Reason'] : headers,
    rows: services.map((s) => {
      const row = [s.binary, s.host, s.zone, s.status, s.state, s.updatedAt];
      return long ? [...row, s.disabledReason] : row;
    }),
  });
}

/** OSC's rules: --enable and --disable exclude each other; a reason needs --disable. */
export async function serviceSet(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const [host, binary] = [String(ctx.args[0]), String(ctx.args[1])];
  if (o.enable === true && o.disable === true) throw new UsageError('argument --disable: not allowed with argument --enable');
  const reason = str(o.disableReason);
  if (reason !== undefined && o.disable !== true)
    throw new CliError('Cannot specify option --disable-reason without --disable specified.');
  const bs = (await ctx.conn()).blockStorage;
  if (o.enable === true) await bs.enableService(host, binary);
  else if (o.disable === true) await bs.disableService(host, binary, defined({ reason }));
}

/** OSC's `volume host set`: --disable freezes the host, --enable thaws it. */
export async function hostSet(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const host = String(ctx.args[0]);
  if (o.enable === true && o.disable === true) throw new UsageError('argument --disable: not allowed with argument --enable');
  const bs = (await ctx.conn()).blockStorage;
  if (o.enable === true) await bs.thawHost(host);
  else if (o.disable === true) await bs.freezeHost(host);
}

/** One row per capability property, as OSC prints them. */
export async function capabilityShow(ctx: ActionContext): Promise<void> {
  const caps = await (await ctx.conn()).blockStorage.getBackendCapabilities(String(ctx.args[0]));
  const rows = Object.entries(caps.properties).map(([key, v]) => {
    const p = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
    return [p.title ?? null, key, p.type ?? null, p.description ?? null];
  });
  ctx.printList({ headers: ['Title', 'Key', 'Type', 'Description'], rows });
}

/** OSC's columns: Name, and with --long the pool's Capabilities. */
export async function poolList(ctx: ActionContext): Promise<void> {
  const long = ctx.opts.long === true;
  const client = (await ctx.conn()).blockStorage.client;
  const res = await client.request('GET', '/scheduler-stats/get_pools', { query: { detail: long ? 'true' : 'false' } });
  const pools = ((res.body as { pools?: unknown[] } | undefined)?.pools ?? []) as { name: string; capabilities?: Record<string, unknown> }[];
  ctx.printList({
    headers: long ? ['Name', 'Capabilities'] : ['Name'],
    rows: pools.map((p) => (long ? [p.name, p.capabilities ?? {}] : [p.name])),
  });
}
