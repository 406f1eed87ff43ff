/**
 * The cluster's write barrier (services/cluster-barrier.ts): a group snapshot taken through node A holds the
 * writes streaming into its RBD members through node B's data API. A writer through B stamps two RBD volumes in
 * lockstep (sequence n into the first, then n into the second); the group snapshot's members, read back as
 * clones, must hold a cut of that order: the second never ahead of the first, the first at most one ahead.
 * Two child nodes on one PostgreSQL database and the test Ceph; without Ceph (RBD) the test skips with the reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ClusterNode, TestCluster, whileStopped, withPostgres } from './cluster-support.js';

const BLOCK = 4096;

withPostgres('cluster write barrier', ['CINDERBOX_TEST_POSTGRES_URL', 'CINDERBOX_TEST_DATABASE_URL'], (pgAdmin) => {
  describe('cluster write barrier: group snapshots of RBD volumes hold writes through every node', { timeout: 300_000 }, () => {
    const cluster = new TestCluster(pgAdmin, {
      label: 'barrier',
      backends: 'local:raw',
      rbd: true,
      // Longer than the barrier's ack wait (10 s), so a stalled node still counts as live when the wait ends.
      extraEnv: { CINDERBOX_SERVICE_DOWN_SECONDS: '30' },
    });
    const { api } = cluster;

    before(async () => {
      await cluster.setUp();
      if (cluster.skip) return;
      await cluster.boot('A', 'B');
      await api.raiseQuotas(cluster.node('A'));
    });

    after(() => cluster.tearDown());

    let groupId = '';
    let vols: string[] = [];

    /** Writes sequence `n` as the first block of volume `id` through `node`. */
    const stamp = async (node: ClusterNode, id: string, n: number): Promise<void> => {
      const block = Buffer.alloc(BLOCK);
      for (let o = 0; o < BLOCK; o += 8) block.writeBigUInt64BE(BigInt(n), o);
      await api.upload(node, id, block);
    };

    /** The sequence in the first block of volume `id`, read through `node`. */
    const sequenceOf = async (node: ClusterNode, id: string): Promise<number> => {
      const r = await fetch(`${node.url}/v3/${api.projectId}/volumes/${id}/cinderbox-data`, {
        headers: { 'X-Auth-Token': api.token, Range: `bytes=0-${BLOCK - 1}` },
      });
      assert.equal(r.status, 206, `read of ${id} through ${node.name}`);
      const b = Buffer.from(await r.arrayBuffer());
      const n = b.readBigUInt64BE(0);
      // Every stamp writes the whole block: a torn one would show two sequences.
      for (let o = 0; o < BLOCK; o += 8) assert.equal(b.readBigUInt64BE(o), n, `block of ${id} is one stamp`);
      return Number(n);
    };

    test('writes in lockstep through B while A takes group snapshots: every snapshot holds one cut of the writer’s order', async (t) => {
      if (cluster.skip) return t.skip(`no RBD backend: ${cluster.skip}`);
      const A = cluster.node('A');
      const B = cluster.node('B');
      const made = await api.rbdGroup(A, 'lockstep');
      vols = made.volumes;
      groupId = made.groupId;

      let running = true;
      let written = 0;
      const writer = (async () => {
        for (let n = 1; running; n++) {
          await stamp(B, vols[0]!, n);
          await stamp(B, vols[1]!, n);
          written = n;
        }
      })();
      try {
        const cuts: [number, number][] = [];
        for (let round = 0; round < 3; round++) {
          const from = written;
          await api.poll(async () => written >= from + 5, 'the writer through B progresses', 60_000);
          const gsId = await api.groupSnapshot(A, groupId);
          const snaps = (await api.ok(A, 'GET', '/snapshots/detail')).snapshots.filter((s: any) => s.group_snapshot_id === gsId);
          assert.equal(snaps.length, 2);
          const seq: Record<string, number> = {};
          for (const s of snaps) {
            // Read back as a clone of the member snapshot (through A; the bytes are RBD's).
            const clone = (await api.ok(A, 'POST', '/volumes', { volume: { size: 1, snapshot_id: s.id, volume_type: made.typeId } })).volume;
            await api.until(A, 'volumes', clone.id, 'available');
            seq[s.volume_id] = await sequenceOf(A, clone.id);
          }
          cuts.push([seq[vols[0]!]!, seq[vols[1]!]!]);
        }
        for (const [first, second] of cuts) {
          assert.ok(second >= 1, `the snapshots hold writes made before them: ${JSON.stringify(cuts)}`);
          assert.ok(first === second || first === second + 1, `one cut of the writer's order (first, second): ${JSON.stringify(cuts)}`);
        }
      } finally {
        running = false;
        await writer;
      }
      assert.ok(written > 15, `writes went on through B across the snapshots (${written})`);
    });

    test('a live node that cannot acknowledge (SIGSTOPped) makes the group snapshot fail with a 400 naming it, nothing recorded; once it runs again, writes and snapshots go on', async (t) => {
      if (cluster.skip) return t.skip(`no RBD backend: ${cluster.skip}`);
      assert.ok(groupId, 'the lockstep scenario made the group');
      const A = cluster.node('A');
      const B = cluster.node('B');
      const count = async () =>
        (await api.ok(A, 'GET', '/group_snapshots')).group_snapshots.filter((g: any) => g.group_id === groupId).length;
      const before = await count();
      const refused = await whileStopped(B, () => api.call(A, 'POST', '/group_snapshots', { group_snapshot: { group_id: groupId } }));
      assert.equal(refused.status, 400, refused.text);
      assert.match(refused.body.badRequest.message, /^Invalid input received: writes through node B could not be held for a consistent point in time \(no acknowledgement within 10 s\); try again\.$/);
      assert.equal(await count(), before, 'no group snapshot recorded');
      for (const id of vols) assert.equal((await api.ok(A, 'GET', `/volumes/${id}`)).volume.status, 'available');
      // The barrier was lifted: B's gates reopen and its writes go through; a new group snapshot is taken.
      await stamp(B, vols[0]!, 1_000_000);
      await stamp(B, vols[1]!, 1_000_000);
      await api.groupSnapshot(A, groupId);
    });
  });
});
