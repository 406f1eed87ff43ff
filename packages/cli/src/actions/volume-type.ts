import type { BlockStorageV3, Connection, VolumeType, VolumeTypeEncryption } from '@cinderbox/sdk';
import { sortedRecord } from '../output/format.js';
import type { ActionContext } from '../runtime/context.js';
import { UsageError } from '../runtime/errors.js';
import { defined, forEachName, found, str } from './common.js';

/** By ID or name; names are looked for among private types too (the default listing shows public ones only). */
export function findVolumeType(bs: BlockStorageV3, nameOrId: string): Promise<VolumeType> {
  return found('volume type', nameOrId, () => bs.findVolumeType(nameOrId, { query: { isPublic: 'none' } }));
}

/** A project given by ID is used as is; a name is resolved through Keystone (needs a user allowed to list projects). */
async function projectId(conn: Connection, nameOrId: string): Promise<string> {
  if (/^[0-9a-f]{32}$/i.test(nameOrId) || /^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/i.test(nameOrId)) return nameOrId;
  return String((await found('project', nameOrId, () => conn.identity.findProject(nameOrId))).id);
}

/** `--public`/`--private` as OSC reads them: both is a usage error, neither leaves the flag alone. */
function publicFlag(o: Record<string, unknown>): boolean | undefined {
  if (o.public === true && o.private === true) throw new UsageError('--public and --private are mutually exclusive');
  if (o.public === true) return true;
  if (o.private === true) return false;
  return undefined;
}

function encryptionOpts(o: Record<string, unknown>): VolumeTypeEncryption | undefined {
  const e = defined({
    provider: str(o.encryptionProvider),
    cipher: str(o.encryptionCipher),
    keySize: typeof o.encryptionKeySize === 'number' ? o.encryptionKeySize : undefined,
    controlLocation: str(o.encryptionControlLocation),
  }) as VolumeTypeEncryption;
  return Object.keys(e).length > 0 ? e : undefined;
}

function encryptionRecord(e: VolumeTypeEncryption): Record<string, unknown> {
  return defined({ provider: e.provider, cipher: e.cipher, key_size: e.keySize, control_location: e.controlLocation, encryption_id: e.encryptionId });
}

/** OSC's fields: properties are the extra specs; a private type lists the projects that may use it (admin). */
async function typeRecord(bs: BlockStorageV3, t: VolumeType, withEncryption = false): Promise<Record<string, unknown>> {
  const rec: Record<string, unknown> = {
    id: t.id,
    name: t.name,
    description: t.description ?? null,
    is_public: t.isPublic,
    properties: t.extraSpecs ?? {},
  };
  if (t.qosSpecsId !== undefined) rec.qos_specs_id = t.qosSpecsId;
  if (t.isPublic === false) rec.access_project_ids = await bs.volumeTypeAccess(t).catch(() => null);
  if (withEncryption) {
    const e = await bs.getVolumeTypeEncryption(t);
    rec.encryption = e ? encryptionRecord(e) : {};
  }
  return sortedRecord(rec);
}

export async function create(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const conn = await ctx.conn();
  const bs = conn.blockStorage;
  const isPublic = publicFlag(o);
  if (o.project !== undefined && isPublic !== false) throw new UsageError('--project is only allowed with --private');
  const enc = encryptionOpts(o);
  if (enc && enc.provider === undefined) throw new UsageError('--encryption-provider is required to create an encryption type');
  const t = await bs.createVolumeType(
    defined({ name: String(ctx.args[0]), description: str(o.description), isPublic, extraSpecs: o.property }),
  );
  if (typeof o.project === 'string') await bs.addVolumeTypeAccess(t, await projectId(conn, o.project));
  if (enc) await bs.createVolumeTypeEncryption(t, { controlLocation: 'front-end', ...enc });
  ctx.printShow(await typeRecord(bs, t, enc !== undefined));
}

export async function list(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const bs = (await ctx.conn()).blockStorage;
  const isPublic = publicFlag(o);
  const query = defined({ isPublic, extraSpecs: o.property }) as { isPublic?: boolean; extraSpecs?: Record<string, string> };
  const types = o.default === true ? [await bs.getVolumeType('default')] : await bs.volumeTypes(query).toArray();
  const long = o.long === true;
  const headers = long ? ['ID', 'Name', 'Is Public', 'Description', 'Properties'] : ['ID', 'Name', 'Is Public'];
  ctx.printList({
    headers,
    rows: types.map((t) => (long ? [t.id, t.name, t.isPublic, t.description ?? null, t.extraSpecs ?? {}] : [t.id, t.name, t.isPublic])),
  });
}

export async function show(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  ctx.printShow(await typeRecord(bs, await findVolumeType(bs, String(ctx.args[0])), ctx.opts.encryptionType === true));
}

export async function set(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const conn = await ctx.conn();
  const bs = conn.blockStorage;
  const t = await findVolumeType(bs, String(ctx.args[0]));
  const isPublic = publicFlag(o);
  const changes = defined({ name: str(o.name), description: str(o.description), isPublic });
  const property = o.property as Record<string, string> | undefined;
  const enc = encryptionOpts(o);
  if (Object.keys(changes).length === 0 && !property && o.project === undefined && !enc) {
    throw new UsageError('nothing to change: give --name, --description, --public/--private, --property, --project or --encryption-*');
  }
  if (Object.keys(changes).length > 0) await bs.updateVolumeType(t, changes);
  if (property) await bs.setVolumeTypeExtraSpecs(t, property);
  if (typeof o.project === 'string') await bs.addVolumeTypeAccess(t, await projectId(conn, o.project));
  if (enc) {
    // OSC creates the encryption type when the volume type has none, and changes it otherwise.
    if (await bs.getVolumeTypeEncryption(t)) await bs.updateVolumeTypeEncryption(t, enc);
    else {
      if (enc.provider === undefined) throw new UsageError('--encryption-provider is required to create an encryption type');
      await bs.createVolumeTypeEncryption(t, { controlLocation: 'front-end', ...enc });
    }
  }
}

export async function unset(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const conn = await ctx.conn();
  const bs = conn.blockStorage;
  const t = await findVolumeType(bs, String(ctx.args[0]));
  const keys = (o.property as string[] | undefined) ?? [];
  if (keys.length === 0 && o.project === undefined && o.encryptionType !== true) {
    throw new UsageError('nothing to remove: give --property, --project or --encryption-type');
  }
  if (keys.length > 0) await bs.deleteVolumeTypeExtraSpecs(t, keys);
  if (typeof o.project === 'string') await bs.removeVolumeTypeAccess(t, await projectId(conn, o.project));
  if (o.encryptionType === true) await bs.deleteVolumeTypeEncryption(t);
}

export async function remove(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  await forEachName('volume type', ctx.args[0] as string[], async (name) => {
    await bs.deleteVolumeType(await findVolumeType(bs, name));
  });
}
