import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, conflict, notFound } from '../../domain/errors.js';
import {
  ADD_VOLUME_STATUSES,
  GROUP_SNAPSHOT_STATUSES,
  GROUP_STATUSES,
  type Group,
  groupLifecycle,
  type GroupSnapshot,
  groupSnapshotLifecycle,
  type GroupType,
  REMOVE_VOLUME_STATUSES,
} from '../../domain/group.js';
import { ensureAllowed, fromStatuses, isStatus, refusal } from '../../domain/lifecycle.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type { TaskHandler } from '../../domain/ports/task-queue.js';
import type { Volume } from '../../domain/volume.js';
import { callerProject, canSee, requireAdmin } from './access.js';
import { type Core, UUID_RE } from './core.js';
import { nodesOfLocalVolumes } from '../service-hosts.js';
import { recordMessageQuietly } from './message-service.js';
import type { VolumeService } from './volume-service.js';

export interface GroupRecord {
  group: Group;
  volumeTypes: string[];
  /** Member volume ids (3.25 `list_volume`). */
  volumes: string[];
}

export interface GroupTypeInput {
  name?: string;
  description?: string | null;
  is_public?: boolean;
  group_specs?: Record<string, string>;
}

export interface GroupCreateInput {
  name: string | null;
  description: string | null;
  groupType: string;
  volumeTypes: string[];
  availabilityZone: string | null;
}

export interface GroupUpdateInput {
  name?: string | null;
  description?: string | null;
  addVolumes?: string | null;
  removeVolumes?: string | null;
}

export const groupNotFound = (id: string) => notFound(`Group ${id} could not be found.`);
export const groupSnapshotNotFound = (id: string) => notFound(`GroupSnapshot ${id} could not be found.`);
export const groupTypeNotFound = (id: string) => notFound(`Group type ${id} could not be found.`);

/** Group snapshot payload: the member snapshots to take, each of one volume. */
export interface GroupSnapshotCreatePayload {
  members: { snapshotId: string; volumeId: string; driver: string }[];
}

/**
 * Generic volume groups (3.13), their types (3.11) and group snapshots (3.14), after cinder/group/api.py.
 * Groups need nothing of a backend here (every backend of this node serves them), so a group is `available`
 * as soon as it is recorded; a group snapshot takes its member snapshots in one task behind the members' write
 * gates (write-gates.ts), so they all hold the volumes as they were at one point in time.
 */
export class GroupService {
  constructor(
    private readonly core: Core,
    private readonly volumes: VolumeService,
  ) {}

  private get repo() {
    return this.core.repos.groups;
  }

  // ---------------- group types ----------------

  private async visibleType(ctx: AuthContext, ref: string, scope: Scope = this.core.store.root): Promise<GroupType> {
    const t = UUID_RE.test(ref) ? await this.repo.type(scope, ref) : undefined;
    if (!t || (!t.is_public && !ctx.isAdmin)) throw groupTypeNotFound(ref);
    return t;
  }

  async listTypes(ctx: AuthContext, isPublic: string | undefined): Promise<GroupType[]> {
    const all = await this.repo.types(this.core.store.root, ctx.isAdmin);
    // Cinder's is_public filter (admins only; others see public types whatever they ask).
    if (!ctx.isAdmin || isPublic === undefined || isPublic.toLowerCase() === 'none') return all;
    const want = ['true', '1', 'yes', 'on'].includes(isPublic.toLowerCase());
    return all.filter((t) => t.is_public === want);
  }

  getType(ctx: AuthContext, id: string): Promise<GroupType> {
    return this.visibleType(ctx, id);
  }

  async createType(ctx: AuthContext, input: GroupTypeInput & { name: string }): Promise<GroupType> {
    requireAdmin(ctx, 'group:group_types:create');
    const t: GroupType = {
      id: randomUUID(),
      name: input.name,
      description: input.description ?? null,
      is_public: input.is_public ?? true,
      group_specs: input.group_specs ?? {},
      created_at: this.core.now(),
      updated_at: null,
    };
    await this.core.store.transaction(async (tx) => {
      if ((await this.repo.typeByName(tx, t.name)) || !(await this.repo.insertType(tx, t)))
        throw conflict(`Group Type ${t.name} already exists.`);
    });
    return t;
  }

  async updateType(ctx: AuthContext, id: string, input: GroupTypeInput): Promise<GroupType> {
    requireAdmin(ctx, 'group:group_types:update');
    return this.core.store.transaction(async (tx) => {
      const t = await this.visibleType(ctx, id, tx);
      if (input.name !== undefined && input.name !== t.name) {
        const other = await this.repo.typeByName(tx, input.name);
        if (other || !(await this.repo.updateType(tx, t.id, { name: input.name }, this.core.now())))
          throw conflict(`Group Type ${input.name} already exists.`);
      }
      const changes: Partial<Pick<GroupType, 'description' | 'is_public'>> = {};
      if (input.description !== undefined) changes.description = input.description;
      if (input.is_public !== undefined) changes.is_public = input.is_public;
      await this.repo.updateType(tx, t.id, changes, this.core.now());
      return (await this.repo.type(tx, t.id))!;
    });
  }

  async deleteType(ctx: AuthContext, id: string): Promise<void> {
    requireAdmin(ctx, 'group:group_types:delete');
    await this.core.store.transaction(async (tx) => {
      const t = await this.visibleType(ctx, id, tx);
      if (await this.repo.typeInUse(tx, t.id))
        throw badRequest(`Invalid group type: Group Type ${t.id} deletion is not allowed with groups present with the type.`);
      await this.repo.removeType(tx, t.id);
    });
  }

  async specs(ctx: AuthContext, id: string): Promise<Record<string, string>> {
    requireAdmin(ctx, 'group:group_types_specs:get_all');
    return (await this.visibleType(ctx, id)).group_specs;
  }

  async spec(ctx: AuthContext, id: string, key: string): Promise<Record<string, string>> {
    requireAdmin(ctx, 'group:group_types_specs:get');
    const t = await this.visibleType(ctx, id);
    if (!Object.hasOwn(t.group_specs, key)) throw notFound(`Group Type ${t.id} has no specs with key ${key}.`);
    return { [key]: t.group_specs[key]! };
  }

  async setSpecs(ctx: AuthContext, id: string, specs: Record<string, string>, rule = 'group:group_types_specs:create'): Promise<Record<string, string>> {
    requireAdmin(ctx, rule);
    await this.core.store.transaction(async (tx) => {
      const t = await this.visibleType(ctx, id, tx);
      await this.repo.setSpecs(tx, t.id, specs, this.core.now());
    });
    return specs;
  }

  async deleteSpec(ctx: AuthContext, id: string, key: string): Promise<void> {
    requireAdmin(ctx, 'group:group_types_specs:delete');
    await this.core.store.transaction(async (tx) => {
      const t = await this.visibleType(ctx, id, tx);
      if (!(await this.repo.deleteSpec(tx, t.id, key, this.core.now())))
        throw notFound(`Group Type ${t.id} has no specs with key ${key}.`);
    });
  }

  // ---------------- groups ----------------

  private async visibleGroup(ctx: AuthContext, id: string, scope: Scope = this.core.store.root): Promise<Group> {
    const g = UUID_RE.test(id) ? await this.repo.get(scope, id) : undefined;
    if (!g || !canSee(ctx, g.project_id)) throw groupNotFound(id);
    return g;
  }

  private async records(groups: Group[], scope: Scope = this.core.store.root): Promise<GroupRecord[]> {
    const types = await this.repo.volumeTypes(
      scope,
      groups.map((g) => g.id),
    );
    const out: GroupRecord[] = [];
    for (const g of groups) out.push({ group: g, volumeTypes: types.get(g.id) ?? [], volumes: await this.repo.members(scope, g.id) });
    return out;
  }

  async get(ctx: AuthContext, id: string): Promise<GroupRecord> {
    return (await this.records([await this.visibleGroup(ctx, id)]))[0]!;
  }

  async list(ctx: AuthContext, allTenants: boolean, filters: Record<string, string>): Promise<GroupRecord[]> {
    const projectId = ctx.isAdmin && allTenants ? null : callerProject(ctx);
    let groups = await this.repo.list(this.core.store.root, projectId);
    for (const [k, v] of Object.entries(filters)) {
      if (k === 'name' || k === 'status' || k === 'availability_zone' || k === 'group_type_id')
        groups = groups.filter((g) => g[k] === v);
      else if (k === 'project_id' && ctx.isAdmin) groups = groups.filter((g) => g.project_id === v);
    }
    return this.records(groups);
  }

  /** The group's volume types, by name or id; 404 for one that does not exist (Cinder's VolumeTypeNotFound). */
  private async resolveVolumeTypes(ctx: AuthContext, scope: Scope, refs: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const ref of refs) {
      const t = await this.volumes.resolveType(scope, ref, null, ctx);
      ids.push(t.id);
    }
    return [...new Set(ids)];
  }

  async create(ctx: AuthContext, input: GroupCreateInput): Promise<GroupRecord> {
    const core = this.core;
    const projectId = callerProject(ctx);
    const az = input.availabilityZone ?? core.deps.config.availabilityZone;
    if (az !== core.deps.config.availabilityZone) throw badRequest(`Invalid input received: Availability zone '${az}' is invalid.`);
    if (input.volumeTypes.length === 0) throw badRequest('Invalid input received: volume_types must not be empty.');
    const g = await core.inTx(async (tx) => {
      const type = UUID_RE.test(input.groupType)
        ? await this.repo.type(tx, input.groupType)
        : await this.repo.typeByName(tx, input.groupType);
      if (!type || (!type.is_public && !ctx.isAdmin)) {
        throw UUID_RE.test(input.groupType)
          ? groupTypeNotFound(input.groupType)
          : notFound(`Group type with name ${input.groupType} could not be found.`);
      }
      const typeIds = await this.resolveVolumeTypes(ctx, tx, input.volumeTypes);
      await core.reserveQuota(tx, projectId, { groups: 1 });
      const row: Group = {
        id: randomUUID(),
        project_id: projectId,
        user_id: ctx.userId,
        name: input.name,
        description: input.description,
        status: 'available',
        availability_zone: az,
        group_type_id: type.id,
        group_snapshot_id: null,
        source_group_id: null,
        created_at: core.now(),
        updated_at: null,
      };
      await this.repo.insert(tx, row, typeIds);
      return row;
    });
    return (await this.records([g]))[0]!;
  }

  async update(ctx: AuthContext, id: string, input: GroupUpdateInput): Promise<void> {
    const core = this.core;
    await core.inTx(async (tx) => {
      const g = await this.visibleGroup(ctx, id, tx);
      const name = input.name !== undefined && input.name !== g.name ? input.name : undefined;
      const description = input.description !== undefined && input.description !== g.description ? input.description : undefined;
      const split = (s: string | null | undefined) =>
        s
          ? s
              .replace(/^,+|,+$/g, '')
              .split(',')
              .filter((x) => x.length > 0)
          : [];
      const add = split(input.addVolumes);
      const remove = split(input.removeVolumes);
      const both = add.filter((x) => remove.includes(x));
      if (both.length > 0) throw badRequest(`Invalid volume: UUIDs ${JSON.stringify(both)} are in both add and remove volume list.`);
      const members = await this.repo.members(tx, g.id);
      const types = (await this.repo.volumeTypes(tx, [g.id])).get(g.id) ?? [];
      const toAdd: string[] = [];
      for (const vid of add.filter((x) => !members.includes(x))) {
        const v = await core.volumeRow(tx, vid);
        if (!v || !canSee(ctx, v.project_id))
          throw badRequest(`Invalid volume: Cannot add volume ${vid} to group ${g.id} because volume cannot be found.`);
        const orig = (await this.repo.groupsOf(tx, [v.id])).get(v.id);
        if (orig)
          throw badRequest(`Invalid volume: Cannot add volume ${v.id} to group ${g.id} because it is already in group ${orig}.`);
        if (v.project_id !== g.project_id)
          throw badRequest(`Invalid volume: Cannot add volume ${v.id} to group ${g.id} as they belong to different projects.`);
        if (!types.includes(v.volume_type_id))
          throw badRequest(
            `Invalid volume: Cannot add volume ${v.id} to group ${g.id} because volume type ${v.volume_type_id} is not supported by the group.`,
          );
        if (!ADD_VOLUME_STATUSES.includes(v.status))
          throw badRequest(
            `Invalid volume: Cannot add volume ${v.id} to group ${g.id} because volume is in an invalid state: ${v.status}. Valid states are: ('available', 'in-use').`,
          );
        toAdd.push(v.id);
      }
      const toRemove: string[] = [];
      for (const vid of remove) {
        if (!members.includes(vid))
          throw badRequest(`Invalid volume: Cannot remove volume ${vid} from group ${g.id} because it is not in the group.`);
        const v = (await core.volumeRow(tx, vid))!;
        if (!REMOVE_VOLUME_STATUSES.includes(v.status))
          throw badRequest(
            `Invalid volume: Cannot remove volume ${v.id} from group ${g.id} because volume is in an invalid state: ${v.status}. Valid states are: ('available', 'in-use', 'error', 'error_deleting').`,
          );
        toRemove.push(v.id);
      }
      if (name === undefined && description === undefined && toAdd.length === 0 && toRemove.length === 0)
        throw badRequest(
          `Invalid group: Cannot update group ${g.id} because no valid name, description, add_volumes, or remove_volumes were provided.`,
        );
      const changes: Partial<Group> = { updated_at: core.now() };
      if (name !== undefined) changes.name = name;
      if (description !== undefined) changes.description = description;
      // Membership changes only from available (Cinder goes through `updating`; here the change is one transaction).
      const moved = await this.repo.transition(tx, g.id, toAdd.length + toRemove.length > 0 ? fromStatuses(groupLifecycle, 'update') : null, null, changes);
      if (!moved.ok) throw refusal(groupLifecycle, 'update', g);
      await this.repo.setGroup(tx, toAdd, g.id);
      await this.repo.setGroup(tx, toRemove, null);
    });
  }

  async delete(ctx: AuthContext, id: string, deleteVolumes: boolean): Promise<void> {
    const core = this.core;
    await core.inTx(async (tx, enqueue) => {
      const g = await this.visibleGroup(ctx, id, tx);
      const action = deleteVolumes ? 'deleteWithVolumes' : 'delete';
      ensureAllowed(groupLifecycle, action, g);
      if ((await this.repo.snapshotsOfGroup(tx, g.id)).length > 0) throw badRequest('Invalid group: Group has existing snapshots.');
      if (await this.repo.creatingFrom(tx, { groupId: g.id }))
        throw badRequest(`Invalid group: Group ${g.id} is the source of a group being created.`);
      const members = await this.repo.members(tx, g.id);
      if (members.length > 0 && !deleteVolumes)
        throw badRequest(`Invalid group: Group ${g.id} still contains volumes. The delete-volumes flag is required to delete it.`);
      for (const vid of members) {
        const v = (await core.volumeRow(tx, vid))!;
        if (v.attach_status === 'attached') throw badRequest(`Invalid group: Volume in group ${g.id} is attached. Need to detach first.`);
        if ((await core.repos.snapshots.ofVolume(tx, vid)).length > 0) throw badRequest('Invalid group: Volume in group still has dependent snapshots.');
        const moved = await core.repos.volumes.transition(tx, vid, [v.status], 'deleting', { previous_status: v.status, updated_at: core.now() });
        if (!moved.ok) throw badRequest(`Invalid group: Volume ${vid} in group ${g.id} changed status.`);
        await enqueue('volume.delete', 'volume', vid, {});
      }
      const moved = await this.repo.transition(tx, g.id, fromStatuses(groupLifecycle, action), 'deleting');
      if (!moved.ok) throw refusal(groupLifecycle, action, { id: g.id, status: moved.reason === 'status' ? moved.status : g.status });
      // A group has no backend object: it goes with this transaction, its volumes with their tasks.
      await this.repo.remove(tx, g.id);
      await core.releaseQuota(tx, g.project_id, { groups: 1 });
    });
  }

  async resetStatus(ctx: AuthContext, id: string, status: string): Promise<void> {
    requireAdmin(ctx, 'group:reset_status');
    const s = status.toLowerCase();
    if (!isStatus(groupLifecycle, s))
      throw badRequest(`Invalid input received: Group status: ${status} is invalid, valid statuses are: (${GROUP_STATUSES.map((x) => `'${x}'`).join(', ')}).`);
    const g = await this.visibleGroup(ctx, id);
    await this.repo.transition(this.core.store.root, g.id, null, s, { updated_at: this.core.now() });
  }

  /**
   * 3.14 create-from-src: a new group of the source's type and volume types, with a volume per member of the
   * group snapshot (from its snapshot) or of the source group (a clone). The new volumes are created as any
   * volume from a snapshot or clone is, and are members from the start.
   */
  async createFromSource(
    ctx: AuthContext,
    input: { name: string | null; description: string | null; groupSnapshotId: string | null; sourceGroupId: string | null },
  ): Promise<GroupRecord> {
    const core = this.core;
    const projectId = callerProject(ctx);
    if ((input.groupSnapshotId === null) === (input.sourceGroupId === null))
      throw badRequest('Invalid input received: Either group_snapshot_id or source_group_id must be provided, not both.');
    let sources: { snapshotId: string | null; volumeId: string | null; volumeTypeId: string }[];
    let template: Group;
    if (input.groupSnapshotId !== null) {
      const gs = await this.visibleGroupSnapshot(ctx, input.groupSnapshotId);
      ensureAllowed(groupSnapshotLifecycle, 'source', gs);
      const g = await this.repo.get(core.store.root, gs.group_id);
      if (!g) throw groupNotFound(gs.group_id);
      template = g;
      const snaps = await this.repo.snapshotMembers(core.store.root, gs.id);
      if (snaps.length === 0) throw badRequest(`Invalid group: Group snapshot ${gs.id} has no snapshots.`);
      sources = [];
      for (const sid of snaps) {
        const s = (await core.snapshotRow(core.store.root, sid))!;
        sources.push({ snapshotId: s.id, volumeId: null, volumeTypeId: s.volume_type_id ?? '' });
      }
    } else {
      const g = await this.visibleGroup(ctx, input.sourceGroupId!);
      ensureAllowed(groupLifecycle, 'source', g);
      template = g;
      const vols = await this.repo.members(core.store.root, g.id);
      if (vols.length === 0) throw badRequest(`Invalid group: Source group ${g.id} has no volumes.`);
      sources = vols.map((v) => ({ snapshotId: null, volumeId: v, volumeTypeId: '' }));
    }
    const typeIds = (await this.repo.volumeTypes(core.store.root, [template.id])).get(template.id) ?? [];
    const g: Group = {
      id: randomUUID(),
      project_id: projectId,
      user_id: ctx.userId,
      name: input.name,
      description: input.description,
      status: 'creating',
      availability_zone: template.availability_zone,
      group_type_id: template.group_type_id,
      group_snapshot_id: input.groupSnapshotId,
      source_group_id: input.sourceGroupId,
      created_at: core.now(),
      updated_at: null,
    };
    await core.inTx(async (tx) => {
      await core.reserveQuota(tx, projectId, { groups: 1 });
      await this.repo.insert(tx, g, typeIds);
    });
    try {
      for (const src of sources) {
        const rec = await this.volumes.create(ctx, {
          size: null,
          name: null,
          description: null,
          metadata: {},
          snapshotId: src.snapshotId,
          sourceVolid: src.volumeId,
          availabilityZone: null,
          volumeType: null,
          multiattach: false,
        });
        await this.repo.setGroup(core.store.root, [rec.volume.id], g.id);
      }
      await this.repo.transition(core.store.root, g.id, ['creating'], 'available', { updated_at: core.now() });
    } catch (err) {
      await this.repo.transition(core.store.root, g.id, ['creating'], 'error', { updated_at: core.now() });
      throw err;
    }
    return (await this.records([(await this.repo.get(core.store.root, g.id))!]))[0]!;
  }

  // ---------------- group snapshots ----------------

  private async visibleGroupSnapshot(ctx: AuthContext, id: string, scope: Scope = this.core.store.root): Promise<GroupSnapshot> {
    const s = UUID_RE.test(id) ? await this.repo.snapshot(scope, id) : undefined;
    if (!s || !canSee(ctx, s.project_id)) throw groupSnapshotNotFound(id);
    return s;
  }

  getSnapshot(ctx: AuthContext, id: string): Promise<GroupSnapshot> {
    return this.visibleGroupSnapshot(ctx, id);
  }

  async listSnapshots(ctx: AuthContext, allTenants: boolean, filters: Record<string, string>): Promise<GroupSnapshot[]> {
    const projectId = ctx.isAdmin && allTenants ? null : callerProject(ctx);
    let rows = await this.repo.snapshots(this.core.store.root, projectId);
    for (const [k, v] of Object.entries(filters))
      if (k === 'name' || k === 'status' || k === 'group_id') rows = rows.filter((s) => s[k] === v);
    return rows;
  }

  /**
   * Records the group snapshot and one snapshot per member volume (`creating`, counted against the snapshot
   * quotas), then one task takes them all behind the members' write gates.
   */
  async createSnapshot(ctx: AuthContext, input: { groupId: string; name: string | null; description: string | null }): Promise<GroupSnapshot> {
    const core = this.core;
    const projectId = callerProject(ctx);
    // Uploads in flight to the members finish before their status is checked (rather than refuse the group
    // snapshot because a member is `uploading`); the task closes the gates again for the snapshots themselves.
    const known = UUID_RE.test(input.groupId) ? await this.repo.members(core.store.root, input.groupId) : [];
    return core.writeGates.holdAcrossNodes(known, () => this.recordSnapshot(ctx, projectId, input));
  }

  private recordSnapshot(
    ctx: AuthContext,
    projectId: string,
    input: { groupId: string; name: string | null; description: string | null },
  ): Promise<GroupSnapshot> {
    const core = this.core;
    return core.inTx(async (tx, enqueue) => {
      const g = await this.visibleGroup(ctx, input.groupId, tx);
      ensureAllowed(groupLifecycle, 'snapshot', g);
      // Holds the group row against a racing delete or membership change until commit.
      const held = await this.repo.transition(tx, g.id, fromStatuses(groupLifecycle, 'snapshot'), null, { updated_at: g.updated_at });
      if (!held.ok) throw refusal(groupLifecycle, 'snapshot', { id: g.id, status: held.reason === 'status' ? held.status : g.status });
      const members = await this.repo.members(tx, g.id);
      if (members.length === 0) throw badRequest(`Invalid group: Group ${g.id} contains no volumes.`);
      if (core.deps.config.database.kind === 'postgres') {
        // One node's task takes every member's snapshot (behind the cluster's write barrier for writes through
        // other nodes); another node's local files are out of its reach, so a group whose local volumes sit on
        // several nodes is refused before anything is recorded.
        const rows = (await Promise.all(members.map((vid) => core.volumeRow(tx, vid)))).filter((v): v is Volume => !!v);
        const nodes = nodesOfLocalVolumes(rows, core.deps.config.backends);
        if (nodes.length > 1)
          throw badRequest(
            `Invalid group: Group ${g.id} has volumes on the local backends of several nodes (${nodes.join(', ')}); a group snapshot needs its local volumes on one node (volumes on a shared backend such as RBD may join them): one node takes all the snapshots, and another node's local files are out of its reach.`,
          );
      }
      const gs: GroupSnapshot = {
        id: randomUUID(),
        project_id: projectId,
        user_id: ctx.userId,
        group_id: g.id,
        group_type_id: g.group_type_id,
        name: input.name,
        description: input.description,
        status: 'creating',
        created_at: core.now(),
        updated_at: null,
      };
      await this.repo.insertSnapshot(tx, gs);
      const payload: GroupSnapshotCreatePayload = { members: [] };
      for (const vid of members) {
        const v = (await core.volumeRow(tx, vid))!;
        // Touched under the status guard a snapshot create uses: a racing delete cannot interleave.
        const touched = await core.repos.volumes.transition(tx, v.id, ['available', 'in-use'], null, { updated_at: v.updated_at });
        if (!touched.ok)
          throw badRequest(`Invalid volume: Volume ${v.id} in group ${g.id} must be available or in-use, but current status is: ${v.status}.`);
        await core.reserveQuota(tx, projectId, core.snapshotQuota(v.size, await core.volumeTypeName(tx, v.volume_type_id)));
        const sid = randomUUID();
        const s = core.newSnapshot(v, {
          id: sid,
          projectId,
          userId: ctx.userId,
          name: input.name,
          description: input.description,
          providerLocation: `_snapshot-${sid}`,
        });
        await core.repos.snapshots.insert(tx, s);
        payload.members.push({ snapshotId: sid, volumeId: v.id, driver: v.driver });
      }
      await this.repo.setGroupSnapshot(
        tx,
        payload.members.map((m) => m.snapshotId),
        gs.id,
      );
      await enqueue('group_snapshot.create', 'group_snapshot', gs.id, payload);
      return gs;
    });
  }

  async deleteSnapshot(ctx: AuthContext, id: string): Promise<void> {
    const core = this.core;
    await core.inTx(async (tx, enqueue) => {
      const gs = await this.visibleGroupSnapshot(ctx, id, tx);
      ensureAllowed(groupSnapshotLifecycle, 'delete', gs);
      if (await this.repo.creatingFrom(tx, { groupSnapshotId: gs.id })) throw refusal(groupSnapshotLifecycle, 'delete', gs);
      const moved = await this.repo.transitionSnapshot(tx, gs.id, fromStatuses(groupSnapshotLifecycle, 'delete'), 'deleting', {
        updated_at: core.now(),
      });
      if (!moved.ok) throw refusal(groupSnapshotLifecycle, 'delete', gs);
      for (const sid of await this.repo.snapshotMembers(tx, gs.id)) {
        await core.repos.snapshots.transition(tx, sid, null, 'deleting', { updated_at: core.now() });
        await enqueue('snapshot.delete', 'snapshot', sid, {});
      }
      // The group snapshot has no backend object of its own; its snapshots go with their tasks.
      await this.repo.removeSnapshot(tx, gs.id);
    });
  }

  async resetSnapshotStatus(ctx: AuthContext, id: string, status: string): Promise<void> {
    requireAdmin(ctx, 'group:reset_group_snapshot_status');
    const s = status.toLowerCase();
    if (!isStatus(groupSnapshotLifecycle, s))
      throw badRequest(
        `Invalid input received: Group snapshot status: ${status} is invalid, valid statuses are: (${GROUP_SNAPSHOT_STATUSES.map((x) => `'${x}'`).join(', ')}).`,
      );
    const gs = await this.visibleGroupSnapshot(ctx, id);
    await this.repo.transitionSnapshot(this.core.store.root, gs.id, null, s, { updated_at: this.core.now() });
  }
}

/**
 * A volume created into a group (3.13 `group_id`): the group must be visible to the caller, available, and
 * list the volume's type, as Cinder's create flow checks. Runs in the volume's creating transaction.
 */
export async function joinGroup(core: Core, ctx: AuthContext, tx: Scope, v: Volume, groupId: string): Promise<void> {
  const g = UUID_RE.test(groupId) ? await core.repos.groups.get(tx, groupId) : undefined;
  if (!g || !canSee(ctx, g.project_id)) throw groupNotFound(groupId);
  if (!['available', 'in-use'].includes(g.status))
    throw badRequest(`Invalid group: Group ${g.id} status must be available or in-use, but current status is: ${g.status}.`);
  const types = (await core.repos.groups.volumeTypes(tx, [g.id])).get(g.id) ?? [];
  if (!types.includes(v.volume_type_id))
    throw badRequest(`Invalid input received: Invalid volume_type provided: ${v.volume_type_id} (requested type is not compatible; recommend omitting the type argument).`);
  // Holds the group row until commit, so a racing group delete cannot miss the new member.
  await core.repos.groups.transition(tx, g.id, ['available', 'in-use'], null, { updated_at: g.updated_at });
  await core.repos.groups.setGroup(tx, [v.id], g.id);
}

/**
 * `group_snapshot.create`: closes the write gates of every member volume (writes through the data API wait at
 * the gate; those already past it finish first), takes each member's snapshot, and opens the gates again. So the
 * snapshots hold the same writes: none has a write that finished after another's snapshot was taken, and every
 * write that finished before the group snapshot began is in all of them.
 */
export function groupTaskHandlers(core: Core): TaskHandler<GroupSnapshotCreatePayload>[] {
  const root = core.store.root;
  const repo = core.repos.groups;
  const create: TaskHandler<GroupSnapshotCreatePayload> = {
    kind: 'group_snapshot.create',
    // After a crash: failed, not resumed: the members must share one point in time, which a second run could not give.
    resumeAfterCrash: false,
    async run(task, { signal }) {
      const gs = await repo.snapshot(root, task.resourceId);
      if (!gs || gs.status !== 'creating') return;
      const { members } = task.payload;
      await core.writeGates.holdAcrossNodes(
        members.map((m) => m.volumeId),
        async () => {
          for (const m of members) await core.driver(m.driver).createSnapshot(m.volumeId, m.snapshotId, { signal });
        },
      );
      await core.store.transaction(async (tx) => {
        for (const m of members) await core.moveSnapshot(tx, m.snapshotId, 'created', { progress: '100%' });
        await repo.transitionSnapshot(tx, gs.id, ['creating'], 'available', { updated_at: core.now() });
      });
    },
    async fail(task) {
      for (const m of task.payload.members) {
        await core
          .driver(m.driver)
          .deleteSnapshot(m.volumeId, m.snapshotId)
          .catch(() => {});
      }
      await core.store.transaction(async (tx) => {
        for (const m of task.payload.members) await core.moveSnapshot(tx, m.snapshotId, 'createFailed');
        await repo.transitionSnapshot(tx, task.resourceId, ['creating'], 'error', { updated_at: core.now() });
      });
      // Each member snapshot failed as a snapshot create does: its project's users read why in a message.
      for (const m of task.payload.members) {
        const snap = await core.snapshotRow(root, m.snapshotId);
        if (snap)
          await recordMessageQuietly(core, {
            projectId: snap.project_id,
            resourceType: 'VOLUME_SNAPSHOT',
            resourceUuid: snap.id,
            action: 'SNAPSHOT_CREATE',
            detail: 'SNAPSHOT_CREATE_ERROR',
            requestId: `req-${task.id}`,
          });
      }
    },
  };
  return [create];
}
