/**
 * How soon a cluster sees a node is gone (issue #17), with the down time left at its default (60 s), so nothing
 * here can pass by a heartbeat ageing out. Two child `serve` nodes of this machine on one PostgreSQL database and
 * the test Ceph (a group of RBD volumes, whose snapshots need every live node's write-barrier ack):
 * - a SIGSTOPped node (its pid alive) is still up and still waited for: the group snapshot fails with the 400;
 * - a SIGKILLed node reads down through the other node while its last heartbeat is still young, and a group
 *   snapshot through the other node is taken at once; restarted under its name, it is up again;
 * - a node stopped cleanly (SIGTERM) reads down at once too.
 * Needs CINDERBOX_TEST_POSTGRES_URL or CINDERBOX_TEST_DATABASE_URL; without Ceph (RBD) the tests skip with the
 * reason.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTestPool, type TestPool } from '../../drivers/volume/rbd/test-support.js';
import { createTestDatabase, dropTestDatabase } from '../../test-support/harness.js';
import { ClusterApi, type ClusterEnv, type ClusterNode, killNode, nodeOf, startNode, stopNode } from './cluster-support.js';

const pgAdmin = process.env.CINDERBOX_TEST_POSTGRES_URL ?? process.env.CINDERBOX_TEST_DATABASE_URL;
const DOWN_SECONDS = 60;

if (!pgAdmin) {
  test('dead node detection', (t) => {
    if (process.env.CINDERBOX_TEST_PG === 'require') assert.fail('CINDERBOX_TEST_PG=require, but no PostgreSQL URL is set');
    t.skip('no PostgreSQL: CINDERBOX_TEST_POSTGRES_URL / CINDERBOX_TEST_DATABASE_URL is not set');
  });
} else {
  describe('a dead node of this machine is down at once, a stopped one is not (2 child nodes, PostgreSQL, RBD)', { timeout: 300_000 }, () => {
    let databaseUrl = '';
    let pool: TestPool | null = null;
    let skip = '';
    let env: ClusterEnv;
    const dirs: string[] = [];
    const nodes: Record<string, ClusterNode> = {};
    const api = new ClusterApi();
    let groupId = '';

    before(async () => {
      const made = makeTestPool('deadnode');
      if ('skip' in made) {
        skip = made.skip;
        return;
      }
      pool = made;
      databaseUrl = await createTestDatabase(pgAdmin);
      const target = await mkdtemp(join(tmpdir(), 'cinderbox-deadnode-target-'));
      dirs.push(target);
      env = {
        databaseUrl,
        backends: `local:raw,ceph:rbd:${pool.pool}?conf=${pool.conf}`,
        backupTargets: `shared=file://${target}`,
        extraEnv: { CINDERBOX_SERVICE_DOWN_SECONDS: String(DOWN_SECONDS) },
      };
      for (const name of ['A', 'B']) dirs.push(await mkdtemp(join(tmpdir(), `cinderbox-deadnode-${name}-`)));
      nodes.A = await startNode('A', dirs[1]!, env);
      nodes.B = await startNode('B', dirs[2]!, env);
      await api.login(nodes.A);
      await api.ok(nodes.A, 'PUT', `/os-quota-sets/${api.projectId}`, { quota_set: { volumes: 100, snapshots: 100, gigabytes: 1000 } });
      const A = nodes.A;
      const type = (await api.ok(A, 'POST', '/types', { volume_type: { name: 'ceph', extra_specs: { volume_backend_name: 'ceph' } } })).volume_type;
      const vols: string[] = [];
      for (let i = 0; i < 2; i++) vols.push((await api.ok(A, 'POST', '/volumes', { volume: { size: 1, volume_type: type.id } })).volume.id);
      for (const id of vols) await api.until(A, 'volumes', id, 'available');
      const gtype = (await api.ok(A, 'POST', '/group_types', { group_type: { name: 'shared' } })).group_type;
      const group = (await api.ok(A, 'POST', '/groups', { group: { group_type: gtype.id, volume_types: [type.id] } })).group;
      await api.poll(async () => (await api.ok(A, 'GET', `/groups/${group.id}`)).group.status === 'available', 'group available');
      await api.ok(A, 'PUT', `/groups/${group.id}`, { group: { add_volumes: vols.join(',') } });
      groupId = group.id;
    });

    after(async () => {
      for (const n of Object.values(nodes)) await killNode(n);
      if (databaseUrl) await dropTestDatabase(pgAdmin, databaseUrl).catch(() => {});
      pool?.remove();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    });

    /** B's services as node A lists them. */
    const servicesOfB = async (): Promise<{ binary: string; host: string; state: string; updated_at: string }[]> =>
      (await api.ok(nodes.A!, 'GET', '/os-services')).services.filter((s: { host: string }) => nodeOf(s.host) === 'B');

    /** Takes a group snapshot of the group through A; resolves once it is available. */
    const groupSnapshot = async (): Promise<void> => {
      const A = nodes.A!;
      const gs = (await api.ok(A, 'POST', '/group_snapshots', { group_snapshot: { group_id: groupId } })).group_snapshot;
      await api.poll(async () => {
        const s = (await api.ok(A, 'GET', `/group_snapshots/${gs.id}`)).group_snapshot.status;
        if (s === 'error') throw new Error('group snapshot went error');
        return s === 'available';
      }, 'group snapshot available');
    };

    /** Every service of B reads down through A while B's last heartbeat is younger than the down time. */
    const downBeforeItsHeartbeatAged = async (what: string): Promise<void> => {
      const seen = await api.poll(async () => {
        const b = await servicesOfB();
        return b.length > 0 && b.every((s) => s.state === 'down') ? b : null;
      }, `B's services down through A after ${what}`, 30_000);
      assert.deepEqual(seen.map((s) => s.binary).sort(), ['cinder-backup', 'cinder-scheduler', 'cinder-volume', 'cinder-volume']);
      const newest = Math.max(...seen.map((s) => Date.parse(`${s.updated_at.slice(0, 23)}Z`)));
      assert.ok(Date.now() - newest < DOWN_SECONDS * 1000, `down by its death, not by an aged heartbeat (last at ${new Date(newest).toISOString()})`);
    };

    test('a SIGSTOPped node (pid alive) stays up and is still waited for: the group snapshot fails with the 400', async (t) => {
      if (skip) return t.skip(`no RBD backend: ${skip}`);
      const B = nodes.B!;
      B.proc.kill('SIGSTOP');
      let refused: { status: number; text: string; body: any };
      let states: string[];
      try {
        refused = await api.call(nodes.A!, 'POST', '/group_snapshots', { group_snapshot: { group_id: groupId } });
        states = (await servicesOfB()).map((s) => s.state);
      } finally {
        B.proc.kill('SIGCONT');
      }
      assert.equal(refused.status, 400, refused.text);
      assert.match(refused.body.badRequest.message, /writes through node B could not be held/);
      assert.ok(states.length === 4 && states.every((s) => s === 'up'), `B still up while stopped: ${states.join(', ')}`);
    });

    test('a SIGKILLed node reads down through the other node before its heartbeat ages, and the group snapshot is taken without it', async (t) => {
      if (skip) return t.skip(`no RBD backend: ${skip}`);
      await groupSnapshot(); // B acks: it is back after the SIGCONT
      await killNode(nodes.B!);
      const killed = Date.now();
      await downBeforeItsHeartbeatAged('SIGKILL');
      t.diagnostic(`B read down through A ${((Date.now() - killed) / 1000).toFixed(1)} s after its SIGKILL (down time ${DOWN_SECONDS} s)`);
      // Through A's barrier, which no longer waits for B's ack (the wait would refuse after 10 s with a 400).
      const r = await api.call(nodes.A!, 'POST', '/group_snapshots', { group_snapshot: { group_id: groupId } });
      assert.equal(r.status, 202, r.text);
      await api.poll(async () => {
        const s = (await api.ok(nodes.A!, 'GET', `/group_snapshots/${r.body.group_snapshot.id}`)).group_snapshot.status;
        if (s === 'error') throw new Error('group snapshot went error');
        return s === 'available';
      }, 'group snapshot available');
      t.diagnostic(`a group snapshot through A was available ${((Date.now() - killed) / 1000).toFixed(1)} s after B's SIGKILL`);
    });

    test('restarted under its name, the node is up again and acks; stopped cleanly, it reads down at once', async (t) => {
      if (skip) return t.skip(`no RBD backend: ${skip}`);
      nodes.B = await startNode('B', dirs[2]!, env);
      await api.poll(async () => {
        const b = await servicesOfB();
        return b.length === 4 && b.every((s) => s.state === 'up');
      }, 'B up again', 30_000);
      await groupSnapshot();
      await stopNode(nodes.B);
      await downBeforeItsHeartbeatAged('a clean stop');
      await groupSnapshot();
    });
  });
}
