/**
 * Moving a volume from one node's local backend to another node's (issue #17): two nodes (A, B) as child processes
 * on one PostgreSQL database, each with node-local backends `local` (raw) and `fast` (qcow2). The destination node
 * reads the source through the source node's data API; the source node then removes its file.
 * PostgreSQL comes from CINDERBOX_TEST_POSTGRES_URL, like the rest of the cluster suite.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { type ClusterNode, killNode, nodeOf, TestCluster, withPostgres } from './cluster-support.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Files under `dir` whose name contains `id` (a volume's file, whatever the driver's layout). */
async function filesNamed(dir: string, id: string): Promise<string[]> {
  const all = await readdir(dir, { recursive: true });
  return all.filter((f) => f.includes(id));
}

withPostgres('moving local volumes between cluster nodes', ['CINDERBOX_TEST_POSTGRES_URL'], (pgAdmin) => {
  describe('moving local volumes between cluster nodes (A, B on one PostgreSQL)', { timeout: 600_000 }, () => {
    const cluster = new TestCluster(pgAdmin, { label: 'move', backends: 'local:raw,fast:qcow2' });
    const { api } = cluster;
    const A = () => cluster.node('A');
    const B = () => cluster.node('B');

    before(async () => {
      await cluster.setUp();
      await cluster.boot('A', 'B');
    });

    after(() => cluster.tearDown());

    /** SHA-256 of the whole volume, read through `node`. */
    const wholeDigest = async (node: ClusterNode, id: string): Promise<string> => {
      const r = await fetch(`${node.url}/v3/${api.projectId}/volumes/${id}/cinderbox-data`, { headers: { 'X-Auth-Token': api.token } });
      assert.equal(r.status, 200, `download through ${node.name}`);
      const h = createHash('sha256');
      let n = 0;
      for await (const c of r.body as unknown as AsyncIterable<Uint8Array>) {
        h.update(c);
        n += c.length;
      }
      assert.equal(n, GiB);
      return h.digest('hex');
    };

    /** A 1 GiB volume of `type` on node A (B's services of the type's backend disabled meanwhile), with data at two places. */
    const volumeOnA = async (backend: string, type?: string): Promise<{ id: string; digest: string }> => {
      await api.setService(A(), `B@${backend}`, 'cinder-volume', false, 'move test');
      try {
        const v = (await api.ok(B(), 'POST', '/volumes', { volume: { size: 1, ...(type ? { volume_type: type } : {}) } })).volume;
        const ready = await api.until(B(), 'volumes', v.id, 'available');
        assert.equal(ready['os-vol-host-attr:host'], `A@${backend}#${backend}`);
        await api.upload(A(), v.id, randomBytes(3 * MiB));
        // Far from the first write, not on a block boundary: the holes between stay holes, both ends arrive.
        await api.upload(A(), v.id, randomBytes(2 * MiB), 700 * MiB + 12345);
        return { id: v.id, digest: await wholeDigest(A(), v.id) };
      } finally {
        await api.setService(A(), `B@${backend}`, 'cinder-volume', true);
      }
    };

    const settled = async (id: string, done: (v: any) => boolean, what: string): Promise<any> =>
      api.poll(async () => {
        const v = (await api.ok(A(), 'GET', `/volumes/${id}`)).volume;
        if (v['os-vol-mig-status-attr:migstat'] === 'error' || v.status === 'error') throw new Error(`${what}: went error (${JSON.stringify(v)})`);
        return done(v) ? v : null;
      }, what, 300_000);

    test("os-migrate_volume A@local → B@local (through A): B copies it from A's API, bytes identical, A's file gone, host updated", async () => {
      const v = await volumeOnA('local');
      assert.ok((await filesNamed(cluster.dir('A'), v.id)).length > 0, "the volume's file is in A's data directory");
      const r = await api.call(A(), 'POST', `/volumes/${v.id}/action`, { 'os-migrate_volume': { host: 'B@local#local' } });
      assert.equal(r.status, 202, r.text);
      const moved = await settled(v.id, (x) => x['os-vol-mig-status-attr:migstat'] === 'success' && x.status === 'available', `migration of ${v.id}`);
      assert.equal(moved['os-vol-host-attr:host'], 'B@local#local');
      assert.equal(await wholeDigest(B(), v.id), v.digest);
      // The source's removal is a task of A's, after the switch.
      await api.poll(async () => (await filesNamed(cluster.dir('A'), v.id)).length === 0, `A's copy of ${v.id} removed`);
      assert.ok((await filesNamed(cluster.dir('B'), v.id)).length > 0);
      // Its bytes are now B's: A refuses to serve them and names B.
      const viaA = await fetch(`${A().url}/v3/${api.projectId}/volumes/${v.id}/cinderbox-data`, { headers: { 'X-Auth-Token': api.token, Range: 'bytes=0-0' } });
      assert.equal(viaA.status, 400);
      assert.match(await viaA.text(), /through node B's API/);
    });

    test("os-retype (on-demand) of a raw volume on A to a type whose backend only B has up (qcow2 `fast`): B copies it, bytes identical, A's file gone", async () => {
      const v = await volumeOnA('local');
      const typeName = `fast-${randomBytes(3).toString('hex')}`;
      await api.ok(A(), 'POST', '/types', { volume_type: { name: typeName, extra_specs: { volume_backend_name: 'fast' } } });
      await api.setService(A(), 'A@fast', 'cinder-volume', false, 'move test');
      try {
        await api.ok(B(), 'POST', `/volumes/${v.id}/action`, { 'os-retype': { new_type: typeName, migration_policy: 'on-demand' } });
        const moved = await settled(v.id, (x) => x.volume_type === typeName && x.status === 'available', `retype of ${v.id}`);
        assert.equal(moved['os-vol-host-attr:host'], 'B@fast#fast');
      } finally {
        await api.setService(A(), 'A@fast', 'cinder-volume', true);
      }
      assert.equal(await wholeDigest(B(), v.id), v.digest);
      await api.poll(async () => (await filesNamed(cluster.dir('A'), v.id)).length === 0, `A's copy of ${v.id} removed`);
    });

    test('refusals keep their Cinder wording: a volume with a snapshot, and an in-use one, stay on A untouched', async (t) => {
      const v = await volumeOnA('local');
      const snap = (await api.ok(A(), 'POST', '/snapshots', { snapshot: { volume_id: v.id } })).snapshot;
      await api.until(A(), 'snapshots', snap.id, 'available');
      const r = await api.call(B(), 'POST', `/volumes/${v.id}/action`, { 'os-migrate_volume': { host: 'B@local' } });
      assert.equal(r.status, 400, r.text);
      assert.match(r.body.badRequest.message, /^Invalid volume: /);
      await api.ok(A(), 'DELETE', `/snapshots/${snap.id}`);
      await api.poll(async () => (await api.call(A(), 'GET', `/snapshots/${snap.id}`)).status === 404, 'snapshot deleted');

      // In use: Cinder accepts the migration and its manager refuses it (cinderbox's consumers hold the source's
      // path); the volume comes back in-use on A with the reason recorded.
      const server = randomBytes(8).toString('hex');
      await api.ok(A(), 'POST', `/volumes/${v.id}/action`, { 'os-attach': { instance_uuid: `00000000-0000-4000-8000-${server.slice(0, 12)}`, mountpoint: '/dev/vdb' } });
      await api.until(A(), 'volumes', v.id, 'in-use');
      const m = await api.call(B(), 'POST', `/volumes/${v.id}/action`, { 'os-migrate_volume': { host: 'B@local' } });
      t.diagnostic(`in-use migration answered ${m.status}`);
      if (m.status === 202) {
        const back = await api.poll(async () => {
          const x = (await api.ok(A(), 'GET', `/volumes/${v.id}`)).volume;
          return x['os-vol-mig-status-attr:migstat'] === 'error' && x.status === 'in-use' ? x : null;
        }, 'in-use migration refused by the task');
        assert.equal(back['os-vol-host-attr:host'], 'A@local#local');
        const msgs = (await api.ok(A(), 'GET', `/messages?resource_uuid=${v.id}`)).messages as { user_message: string }[];
        assert.ok(msgs.length > 0, 'a user message records the refusal');
      } else {
        assert.equal(m.status, 400, m.text);
        assert.match(m.body.badRequest.message, /^Invalid volume: /);
      }
      assert.equal(await wholeDigest(A(), v.id), v.digest);
      assert.ok((await filesNamed(cluster.dir('B'), v.id)).length === 0, 'nothing of it was left on B');
    });

    test('B killed mid-copy: restarted, it fails the move cleanly; the volume is available on A with a message, B holds no copy', async (t) => {
      const v = await volumeOnA('local');
      const r = await api.call(A(), 'POST', `/volumes/${v.id}/action`, { 'os-migrate_volume': { host: 'B@local' } });
      assert.equal(r.status, 202, r.text);
      await api.poll(async () => (await api.ok(A(), 'GET', `/volumes/${v.id}`)).volume['os-vol-mig-status-attr:migstat'] === 'migrating', 'copy started', 120_000);
      await killNode(B());
      await cluster.start('B');
      const back = await api.poll(async () => {
        const x = (await api.ok(A(), 'GET', `/volumes/${v.id}`)).volume;
        if (x['os-vol-mig-status-attr:migstat'] === 'success') return x;
        return x['os-vol-mig-status-attr:migstat'] === 'error' && x.status === 'available' ? x : null;
      }, 'move settled after B restarted', 120_000);
      t.diagnostic(`move after the kill: ${back['os-vol-mig-status-attr:migstat']}`);
      if (back['os-vol-mig-status-attr:migstat'] === 'success') {
        // The copy finished before the kill landed: a finished move is also no half-moved volume.
        assert.equal(nodeOf(back['os-vol-host-attr:host']), 'B');
        assert.equal(await wholeDigest(B(), v.id), v.digest);
        return;
      }
      assert.equal(back['os-vol-host-attr:host'], 'A@local#local');
      assert.equal(await wholeDigest(A(), v.id), v.digest);
      assert.deepEqual(await filesNamed(cluster.dir('B'), v.id), []);
      const msgs = (await api.ok(A(), 'GET', `/messages?resource_uuid=${v.id}`)).messages as unknown[];
      assert.ok(msgs.length > 0, 'a user message records the failed move');
    });
  });
});
