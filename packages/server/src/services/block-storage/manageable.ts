/**
 * What manage/unmanage share: naming backends by host or cluster, reading manage references, and the
 * manageable listings (Cinder's `get_manageable_volumes/snapshots` + `paginate_entries_list`).
 *
 * Backend objects: a volume is the file `volume-<id>`, a snapshot `_snapshot-<id>` (LVM's names); any other
 * regular file directly in the backend directory is a volume candidate, and every file of the import area is
 * a candidate for both, referenced as `import/<name>`. A row whose provider_location names the object owns it.
 */
import { type BackendConfig, backendHostName } from '../../config/config.js';
import { badRequest, notFound } from '../../domain/errors.js';
import { type BackendObject, IMPORT_PREFIX, type VolumeDriver } from '../../domain/ports/volume-driver.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type { Core } from './core.js';
import { GiB } from './core.js';
import { hiddenSnapshotNames } from './hidden-snapshots.js';
import type { SortSpec } from './types.js';
import { MAX_LIMIT } from './types.js';

export type ManageKind = 'volume' | 'snapshot';

/** Cinder's manage reference, as LVM reads it. */
export type Reference = { 'source-name': string };

export interface ManageableEntry {
  reference: Reference;
  size: number;
  safeToManage: boolean;
  reasonNotSafe: string | null;
  cinderId: string | null;
  extraInfo: string | null;
  /** Snapshots only: the parent volume's reference, when known. */
  sourceReference: Reference | null;
}

export interface ManageableQuery {
  host: string | null;
  cluster: string | null;
  /** Whether `cluster` may name the backend (3.17+). */
  clusterAllowed: boolean;
  limit: number | null;
  offset: number | null;
  /** JSON text of a reference, as clients send it. */
  marker: string | null;
  sort: SortSpec[];
}

/** Admin metadata key under which a volume remembers an unmanaged snapshot object of its own. */
export const UNMANAGED_SNAPSHOT_KEY = 'unmanaged_snapshot:';

export const SNAPSHOT_PREFIX = '_snapshot-';

export function sizeGiB(bytes: number): number {
  return Math.ceil(bytes / GiB);
}

/** The backend a `host@backend[#pool]` (or cluster) name designates; null when it names none. */
export function backendNamed(core: Core, name: string): BackendConfig | null {
  const [hostBackend, pool, extra] = name.split('#');
  if (extra !== undefined || !hostBackend) return null;
  return (
    core.deps.config.backends.find(
      (b) => backendHostName(core.deps.config, b).split('#')[0] === hostBackend && (pool === undefined || pool === b.pool),
    ) ?? null
  );
}

/**
 * The source name of a reference. Structural problems (no `source-name`, not a string) are left to the task,
 * which moves the record to error as Cinder's drivers do; names that could leave the backend directory are a 400
 * here, before anything is written.
 */
export async function referenceName(driver: VolumeDriver, ref: unknown, what: ManageKind): Promise<string> {
  try {
    // The driver judges the reference before anything is recorded, so a malformed one costs no row and no quota.
    const name = driver.validateManageRef(ref);
    await driver.inspectObject(name);
    return name;
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'EINVAL') throw e;
    throw badRequest(
      `Manage existing ${what} failed due to invalid backend reference ${JSON.stringify(ref)}: ${(e as Error).message}; a reference is {"source-name": "<file name inside the backend directory or ${IMPORT_PREFIX}<name>>"}.`,
    );
  }
}

/** Owners of backend objects among `names`: volumes and snapshots whose provider_location is the name. */
async function owners(
  core: Core,
  scope: Scope,
  driverName: string,
  names: string[],
): Promise<{ volumes: Map<string, string>; snapshots: Map<string, { id: string; source: string | null }> }> {
  const volumes = await core.repos.volumes.byObjectNames(scope, driverName, names);
  const found = await core.repos.snapshots.byObjectNames(scope, driverName, names);
  const snapshots = new Map<string, { id: string; source: string | null }>();
  for (const [name, s] of found) snapshots.set(name, { id: s.id, source: s.volumeObject });
  return { volumes, snapshots };
}

/** Parents of unmanaged snapshot objects, as their volumes remember them. */
async function unmanagedParents(core: Core, scope: Scope, names: string[]): Promise<Map<string, string>> {
  const byKey = await core.repos.metadata.volumeObjectsByAdminKeys(
    scope,
    names.map((n) => `${UNMANAGED_SNAPSHOT_KEY}${n}`),
  );
  const out = new Map<string, string>();
  for (const [key, source] of byKey) out.set(key.slice(UNMANAGED_SNAPSHOT_KEY.length), source);
  return out;
}

function isCandidate(kind: ManageKind, o: BackendObject): boolean {
  if (o.kind !== undefined) return o.kind === kind;
  if (o.name.startsWith(IMPORT_PREFIX)) return true;
  return kind === 'snapshot' ? o.name.startsWith(SNAPSHOT_PREFIX) : !o.name.startsWith(SNAPSHOT_PREFIX);
}

const ref = (name: string): Reference => ({ 'source-name': name });

/** The value a reference sorts by, as Cinder compares dicts: the smallest of their values. */
function refKey(r: Reference): string {
  return Object.values(r).map(String).sort()[0] ?? '';
}

function sameReference(a: unknown, b: Reference): boolean {
  if (a === null || typeof a !== 'object' || Array.isArray(a)) return false;
  const ak = Object.keys(a).sort();
  const bk = Object.keys(b).sort();
  return (
    ak.length === bk.length &&
    ak.every((k, i) => k === bk[i] && (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k])
  );
}

/** `named` is the host or cluster the query designates (already checked to be exactly one). */
export async function listManageable(
  core: Core,
  kind: ManageKind,
  named: string,
  q: ManageableQuery,
): Promise<ManageableEntry[]> {
  for (const s of q.sort) {
    if (s.key !== 'reference' && s.key !== 'size') throw badRequest(`Invalid sort keys passed: ${s.key}`);
  }
  const backend = backendNamed(core, named);
  if (!backend) throw notFound(`Service ${named} could not be found.`);
  const driver = core.driver(backend.name);
  const candidates = (await driver.listObjects()).filter((o) => isCandidate(kind, o));
  const root = core.store.root;
  const hidden =
    kind === 'snapshot'
      ? await hiddenSnapshotNames(core.repos.hiddenSnapshots, root, driver, candidates.map((o) => o.name))
      : null;
  const objects = hidden ? candidates.filter((o) => !hidden.has(o.name)) : candidates;
  const names = objects.map((o) => o.name);
  const own = await owners(core, root, backend.name, names);
  const parents = kind === 'snapshot' ? await unmanagedParents(core, root, names) : new Map<string, string>();
  const entries: ManageableEntry[] = objects.map((o) => {
    const managedVolume = own.volumes.get(o.name);
    const managedSnapshot = own.snapshots.get(o.name);
    const cinderId = managedVolume ?? managedSnapshot?.id ?? null;
    const source = managedSnapshot?.source ?? parents.get(o.name) ?? null;
    return {
      reference: ref(o.name),
      size: sizeGiB(o.size),
      safeToManage: cinderId === null,
      reasonNotSafe: cinderId === null ? null : 'already managed',
      cinderId,
      extraInfo: o.name.startsWith(IMPORT_PREFIX) ? 'import area' : null,
      sourceReference: kind === 'snapshot' && source !== null ? ref(source) : null,
    };
  });
  return paginate(entries, q);
}

function paginate(entries: ManageableEntry[], q: ManageableQuery): ManageableEntry[] {
  const sort = q.sort.length > 0 ? q.sort : [{ key: 'reference', dir: 'desc' as const }];
  const sorted = [...entries].sort((a, b) => {
    for (const s of sort) {
      const av = s.key === 'size' ? a.size : refKey(a.reference);
      const bv = s.key === 'size' ? b.size : refKey(b.reference);
      if (av === bv) continue;
      const c = av < bv ? -1 : 1;
      return s.dir === 'desc' ? -c : c;
    }
    return 0;
  });
  let start = 0;
  if (q.marker !== null) {
    let marker: unknown;
    try {
      marker = JSON.parse(q.marker);
    } catch {
      throw badRequest(
        `Invalid input received: marker ${q.marker} can not be analysed, please use json like format`,
      );
    }
    const i = sorted.findIndex((e) => sameReference(marker, e.reference));
    if (i < 0) throw badRequest(`Invalid input received: marker not found: ${q.marker}`);
    start = i + 1;
  }
  const limit = Math.min(q.limit ?? MAX_LIMIT, MAX_LIMIT);
  const offset = q.offset ?? 0;
  return sorted.slice(start + offset, start + offset + limit);
}
