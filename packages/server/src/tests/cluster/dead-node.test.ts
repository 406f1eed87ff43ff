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
import { after, before, describe, test } from 'node:test';
import { killNode, nodeOf, stopNode, TestCluster, whileStopped, withPostgres } from './cluster-support.js';

const DOWN_SECONDS = 60;

withPostgres('dead node detection', ['CINDERBOX_TEST_POSTGRES_URL', 'CINDERBOX_TEST_DATABASE_URL'], (pgAdmin) => {
  describe('a dead node of this machine is down at once, a stopped one is not (2 child nodes, PostgreSQL, RBD)', { timeout: 300_000 }, () => {
    const cluster = new TestCluster(pgAdmin, {
      label: 'deadnode',
      backends: 'local:raw',
      rbd: true,
      extraEnv: { CINDERBOX_SERVICE_DOWN_SECONDS: String(DOWN_SECONDS) },
    });
    const { api } = cluster;
    const A = () => cluster.node('A');
    const B = () => cluster.node('B');
    let groupId = '';

    before(async () => {
      await cluster.setUp();
      if (cluster.skip) return;
      await cluster.boot('A', 'B');
      await api.raiseQuotas(A());
      groupId = (await api.rbdGroup(A(), 'shared')).groupId;
    });

    after(() => cluster.tearDown());

    /** B's services as node A lists them. */
    const servicesOfB = async (): Promise<{ binary: string; host: string; state: string; updated_at: string }[]> =>
      (await api.ok(A(), 'GET', '/os-services')).services.filter((s: { host: string }) => nodeOf(s.host) === 'B');

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
      if (cluster.skip) return t.skip(`no RBD backend: ${cluster.skip}`);
      const { refused, states } = await whileStopped(B(), async () => ({
        refused: await api.call(A(), 'POST', '/group_snapshots', { group_snapshot: { group_id: groupId } }),
        states: (await servicesOfB()).map((s) => s.state),
      }));
      assert.equal(refused.status, 400, refused.text);
      assert.match(refused.body.badRequest.message, /writes through node B could not be held/);
      assert.ok(states.length === 4 && states.every((s) => s === 'up'), `B still up while stopped: ${states.join(', ')}`);
    });

    test('a SIGKILLed node reads down through the other node before its heartbeat ages, and the group snapshot is taken without it', async (t) => {
      if (cluster.skip) return t.skip(`no RBD backend: ${cluster.skip}`);
      await api.groupSnapshot(A(), groupId); // B acks: it is back after the SIGCONT
      await killNode(B());
      const killed = Date.now();
      await downBeforeItsHeartbeatAged('SIGKILL');
      t.diagnostic(`B read down through A ${((Date.now() - killed) / 1000).toFixed(1)} s after its SIGKILL (down time ${DOWN_SECONDS} s)`);
      // Through A's barrier, which no longer waits for B's ack (the wait would refuse after 10 s with a 400).
      const r = await api.call(A(), 'POST', '/group_snapshots', { group_snapshot: { group_id: groupId } });
      assert.equal(r.status, 202, r.text);
      await api.groupSnapshotAvailable(A(), r.body.group_snapshot.id);
      t.diagnostic(`a group snapshot through A was available ${((Date.now() - killed) / 1000).toFixed(1)} s after B's SIGKILL`);
    });

    test('restarted under its name, the node is up again and acks; stopped cleanly, it reads down at once', async (t) => {
      if (cluster.skip) return t.skip(`no RBD backend: ${cluster.skip}`);
      await cluster.start('B');
      await api.poll(async () => {
        const b = await servicesOfB();
        return b.length === 4 && b.every((s) => s.state === 'up');
      }, 'B up again', 30_000);
      await api.groupSnapshot(A(), groupId);
      await stopNode(B());
      await downBeforeItsHeartbeatAged('a clean stop');
      await api.groupSnapshot(A(), groupId);
    });
  });
});
