/**
 * Three cinderbox nodes (A, B, C) as real child processes on loopback ports, sharing one PostgreSQL database and
 * one backup target (an S3 bucket on the test radosgw when there is one, else a shared directory), each with a
 * node-local raw backend `local` and, when Ceph is reachable, a shared RBD backend `ceph`. Any node answers any
 * call; work on a local volume runs on its node; nodes die with SIGKILL and the cluster stays consistent.
 * PostgreSQL comes from CINDERBOX_TEST_POSTGRES_URL (scripts/test.sh sets it in both passes, so the suite runs once).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { emptyAndClose, freshS3Store, s3Unavailable, testS3Options } from '../../drivers/objects/s3/test-env.js';
import type { S3ObjectStore } from '../../drivers/objects/s3/index.js';
import { Cli, cloudEntry, cloudEnv, missingTools, OPENSTACK, writeClouds } from '../clients/test-support/support.js';
import { ADMIN_PASSWORD, type ClusterNode, DOWN_SECONDS, killNode, nodeOf, stopNode, TestCluster, withPostgres } from './cluster-support.js';

const MiB = 1024 * 1024;

withPostgres('cinderbox cluster (3 nodes on one PostgreSQL)', ['CINDERBOX_TEST_POSTGRES_URL'], (pgAdmin) => {
  describe('cinderbox cluster: 3 nodes on one PostgreSQL and one backup target', { timeout: 300_000 }, () => {
    const cluster = new TestCluster(pgAdmin, { label: 'cluster', backends: 'local:raw', rbd: 'optional' });
    const { api } = cluster;
    let seed: S3ObjectStore | null = null;
    const A = () => cluster.node('A');
    const B = () => cluster.node('B');
    const C = () => cluster.node('C');
    const byName = (name: string) => cluster.node(name);
    // Set by the first scenario: a backup on the shared target and the content it holds.
    let earlyBackup = '';
    let earlyDigest = '';

    const start = async (name: string) => {
      await cluster.start(name);
    };

    before(async () => {
      if (!s3Unavailable) {
        seed = await freshS3Store();
        const s3 = testS3Options({ prefix: seed.prefix });
        await cluster.setUp({
          backupTargets: `shared=s3://${s3.bucket}/${seed.prefix.replace(/\/$/, '')}?endpoint=${s3.endpoint}&region=${s3.region}`,
          extraEnv: { AWS_ACCESS_KEY_ID: s3.credentials?.accessKeyId ?? '', AWS_SECRET_ACCESS_KEY: s3.credentials?.secretAccessKey ?? '' },
        });
      } else {
        await cluster.setUp();
        console.log(`# cluster suite: backup target is a shared directory (${s3Unavailable})`);
      }
      if (cluster.skip) console.log(`# cluster suite: no RBD backend, RBD scenarios skip (${cluster.skip})`);
      // The first migrates the database and bootstraps the admin; the others then start together.
      await start('A');
      await Promise.all([start('B'), start('C')]);
      await api.login(A());
      // The scenarios make more volumes, snapshots and backups than the default quotas allow one project.
      await api.raiseQuotas(A(), { volumes: 100, snapshots: 100, backups: 100, gigabytes: 1000, backup_gigabytes: 1000 });
      if (cluster.pool) await api.ok(A(), 'POST', '/types', { volume_type: { name: 'ceph', extra_specs: { volume_backend_name: 'ceph' } } });
    });

    after(async () => {
      await cluster.tearDown();
      if (seed) await emptyAndClose(seed).catch(() => {});
    });

    /** A 1 GiB volume created through `via` (on the type's backend), once available. */
    const newVolume = async (via: ClusterNode, type?: string): Promise<{ id: string; node: string }> => {
      const v = (await api.ok(via, 'POST', '/volumes', { volume: { size: 1, ...(type ? { volume_type: type } : {}) } })).volume;
      const ready = await api.until(via, 'volumes', v.id, 'available');
      return { id: v.id, node: nodeOf(ready['os-vol-host-attr:host']) };
    };

    /** Runs `fn` with the `local` volume services of every node but `keep` disabled, so new local volumes land there. */
    const onlyOn = async <T>(keep: string, fn: () => Promise<T>): Promise<T> => {
      const others = ['A', 'B', 'C'].filter((n) => n !== keep);
      for (const n of others) await api.setService(A(), `${n}@local`, 'cinder-volume', false, 'cluster test');
      try {
        return await fn();
      } finally {
        for (const n of others) await api.setService(A(), `${n}@local`, 'cinder-volume', true);
      }
    };

    test("os-services lists every node's scheduler, volume and backup services, up, through any node", async () => {
      const services = await api.services(C());
      for (const n of ['A', 'B', 'C']) {
        for (const [binary, host] of [
          ['cinder-scheduler', n],
          ['cinder-volume', `${n}@local`],
          ['cinder-backup', n],
        ] as const) {
          const s = services.find((x) => x.binary === binary && x.host === host);
          assert.ok(s, `${binary} ${host} listed: ${JSON.stringify(services)}`);
          assert.deepEqual([s.status, s.state], ['enabled', 'up'], `${binary} ${host}`);
        }
      }
      // The pools of every node, as their volume services last reported them, through any node.
      const pools = (await api.ok(B(), 'GET', '/scheduler-stats/get_pools?detail=true')).pools as { name: string; capabilities: { free_capacity_gb: number } }[];
      for (const n of ['A', 'B', 'C']) {
        const p = pools.find((x) => x.name === `${n}@local#local`);
        assert.ok(p, `${n}'s pool listed: ${JSON.stringify(pools.map((x) => x.name))}`);
        assert.ok(p.capabilities.free_capacity_gb > 0);
      }
    });

    test("a second process under a live node's name is refused, naming the live process; the first keeps running", async () => {
      await assert.rejects(cluster.start('B', cluster.dir('dup')), /node name "B" is in use by a live node \(process \d+ on \S+, last heartbeat \d+ s ago\)/);
      assert.equal((await api.call(B(), 'GET', '/volumes')).status, 200);
    });

    test('create through A, snapshot through B, back up through C, restore through A: the restored bytes are the original ones', async () => {
      const vol = await newVolume(A());
      const owner = byName(vol.node);
      const data = randomBytes(4 * MiB);
      await api.upload(owner, vol.id, data);
      earlyDigest = await api.digest(owner, vol.id);

      // Another node answers for the volume's metadata, and refuses its bytes naming the node that has them.
      const elsewhere = Object.values(cluster.nodes).find((n) => n.name !== owner.name)!;
      assert.equal((await api.ok(elsewhere, 'GET', `/volumes/${vol.id}`)).volume.id, vol.id);
      const refused = await api.call(elsewhere, 'GET', `/volumes/${vol.id}/cinderbox-data`);
      assert.equal(refused.status, 400);
      assert.match(refused.text, new RegExp(`node ${owner.name}'s`));

      const snap = (await api.ok(B(), 'POST', '/snapshots', { snapshot: { volume_id: vol.id, name: 'through-B' } })).snapshot;
      await api.until(B(), 'snapshots', snap.id, 'available');

      const backup = (await api.ok(C(), 'POST', '/backups', { backup: { volume_id: vol.id, name: 'through-C' } })).backup;
      await api.until(C(), 'backups', backup.id, 'available');
      earlyBackup = backup.id;

      const restore = (await api.ok(A(), 'POST', `/backups/${backup.id}/restore`, { restore: {} })).restore;
      const restored = await api.until(A(), 'volumes', restore.volume_id, 'available');
      assert.equal(await api.digest(byName(nodeOf(restored['os-vol-host-attr:host'])), restore.volume_id), earlyDigest);
    });

    test('RBD: a volume made through A, backed up through C and restored through B reads the same through every node', async (t) => {
      if (!cluster.pool) return t.skip('no Ceph cluster reachable for an RBD backend');
      const vol = await newVolume(A(), 'ceph');
      const data = randomBytes(4 * MiB);
      await api.upload(B(), vol.id, data);
      const digest = await api.digest(C(), vol.id);
      const backup = (await api.ok(C(), 'POST', '/backups', { backup: { volume_id: vol.id } })).backup;
      await api.until(C(), 'backups', backup.id, 'available');
      const restore = (await api.ok(B(), 'POST', `/backups/${backup.id}/restore`, { restore: { volume_id: vol.id } })).restore;
      assert.equal(restore.volume_id, vol.id);
      await api.until(B(), 'volumes', vol.id, 'available');
      for (const n of [A(), B(), C()]) assert.equal(await api.digest(n, vol.id), digest, `read through ${n.name}`);
    });

    test('disabling a node’s volume service (with a reason) steers new volumes to the other nodes', async () => {
      await api.setService(B(), 'A@local', 'cinder-volume', false, 'maintenance');
      try {
        const listed = (await api.services(C())).find((s) => s.host === 'A@local' && s.binary === 'cinder-volume')!;
        assert.deepEqual([listed.status, listed.disabled_reason], ['disabled', 'maintenance']);
        const placed: string[] = [];
        for (let i = 0; i < 3; i++) placed.push((await newVolume(A())).node);
        assert.ok(!placed.includes('A'), `placed on ${placed.join(', ')}`);
        assert.ok(new Set(placed).size >= 2, `spread over the enabled nodes: ${placed.join(', ')}`);
      } finally {
        await api.setService(B(), 'A@local', 'cinder-volume', true);
      }
    });

    test('a group snapshot or a CBR checkpoint over local volumes of two nodes is refused before anything is recorded; one node’s volumes are accepted', async () => {
      const a = await onlyOn('A', () => newVolume(B()));
      const b = await onlyOn('B', () => newVolume(A()));
      assert.deepEqual([a.node, b.node], ['A', 'B']);
      const type = (await api.ok(A(), 'POST', '/group_types', { group_type: { name: `cg-${randomBytes(3).toString('hex')}` } })).group_type;
      const group = (await api.ok(A(), 'POST', '/groups', { group: { group_type: type.id, volume_types: ['__DEFAULT__'] } })).group;
      await api.poll(async () => (await api.ok(A(), 'GET', `/groups/${group.id}`)).group.status === 'available', 'group available');
      await api.ok(A(), 'PUT', `/groups/${group.id}`, { group: { add_volumes: `${a.id},${b.id}` } });
      const refused = await api.call(C(), 'POST', '/group_snapshots', { group_snapshot: { group_id: group.id } });
      assert.equal(refused.status, 400, refused.text);
      assert.match(refused.body.badRequest.message, /^Invalid group: .*local backends of several nodes \(A, B\)/);
      assert.equal((await api.ok(A(), 'GET', `/group_snapshots?group_id=${group.id}`)).group_snapshots.length, 0);
      for (const v of [a, b]) assert.equal((await api.ok(A(), 'GET', `/volumes/${v.id}`)).volume.status, 'available');

      const vault = await api.cbr(B(), 'POST', '/vaults', {
        vault: {
          name: 'two-nodes',
          billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 10 },
          resources: [a.id, b.id].map((id) => ({ id, type: 'OS::Cinder::Volume' })),
        },
      });
      assert.equal(vault.status, 200, vault.text);
      const cp = await api.cbr(C(), 'POST', '/checkpoints', { checkpoint: { vault_id: vault.body.vault.id, parameters: {} } });
      assert.equal(cp.status, 400, cp.text);
      assert.match(cp.text, /local backends of several nodes \(A, B\)/);
      assert.equal((await api.cbr(A(), 'GET', `/checkpoints?vault_id=${vault.body.vault.id}`)).status < 500, true);
      for (const v of [a, b]) assert.equal((await api.ok(A(), 'GET', `/volumes/${v.id}`)).volume.status, 'available');

      // With B's volume out of the group, the snapshot is one node's work and is taken there.
      await api.ok(A(), 'PUT', `/groups/${group.id}`, { group: { remove_volumes: b.id } });
      const gs = (await api.ok(C(), 'POST', '/group_snapshots', { group_snapshot: { group_id: group.id } })).group_snapshot;
      await api.poll(async () => {
        const s = (await api.ok(B(), 'GET', `/group_snapshots/${gs.id}`)).group_snapshot.status;
        if (s === 'error') throw new Error('group snapshot went error');
        return s === 'available';
      }, 'group snapshot available');
    });

    /** Migrates through `via` and waits for the move to end; returns the volume as then shown. */
    const migrated = async (via: ClusterNode, id: string, host: string): Promise<any> => {
      await api.ok(via, 'POST', `/volumes/${id}/action`, { 'os-migrate_volume': { host } });
      return api.poll(async () => {
        const v = (await api.ok(A(), 'GET', `/volumes/${id}`)).volume;
        const mig = v['os-vol-mig-status-attr:migstat'];
        if (mig === 'error') throw new Error(`migration of ${id} to ${host} failed`);
        return mig === 'success' && v.status === 'available' ? v : null;
      }, `volume ${id} migrated to ${host}`);
    };

    test('RBD: os-migrate_volume from A’s local backend to RBD named on B, then to C’s local backend (copied by C): the bytes follow', async (t) => {
      if (!cluster.pool) return t.skip('no RBD backend (Ceph unreachable)');
      const a = await onlyOn('A', () => newVolume(B()));
      const data = randomBytes(MiB);
      await api.upload(A(), a.id, data);
      const before = await api.digest(A(), a.id, MiB);
      const onRbd = await migrated(C(), a.id, 'B@ceph');
      assert.match(onRbd['os-vol-host-attr:host'], /^B@ceph#/);
      assert.equal(await api.digest(C(), a.id, MiB), before);
      const onC = await migrated(A(), a.id, 'C@local');
      assert.match(onC['os-vol-host-attr:host'], /^C@local#/);
      assert.equal(await api.digest(C(), a.id, MiB), before);
    });

    test('RBD: os-retype (on-demand) of an RBD volume to a local type while only C’s local backend is enabled: C copies it, the bytes follow', async (t) => {
      if (!cluster.pool) return t.skip('no RBD backend (Ceph unreachable)');
      const v = await newVolume(A(), 'ceph');
      const data = randomBytes(MiB);
      await api.upload(B(), v.id, data);
      const before = await api.digest(B(), v.id, MiB);
      const typeName = `local-${randomBytes(3).toString('hex')}`;
      await api.ok(A(), 'POST', '/types', { volume_type: { name: typeName, extra_specs: { volume_backend_name: 'local' } } });
      const moved = await onlyOn('C', async () => {
        await api.ok(A(), 'POST', `/volumes/${v.id}/action`, { 'os-retype': { new_type: typeName, migration_policy: 'on-demand' } });
        return api.poll(async () => {
          const r = (await api.ok(B(), 'GET', `/volumes/${v.id}`)).volume;
          if (r.status === 'error') throw new Error('retype went error');
          return r.volume_type === typeName && r.status === 'available' ? r : null;
        }, `volume ${v.id} retyped to ${typeName}`);
      });
      assert.match(moved['os-vol-host-attr:host'], /^C@local#/);
      assert.equal(await api.digest(C(), v.id, MiB), before);
    });

    test('SIGKILL of B during a backup of its local volume: no other node takes it; B restarted fails it cleanly; the target verifies; the earlier backup restores byte-exact', async () => {
      const vol = await onlyOn('B', () => newVolume(A()));
      assert.equal(vol.node, 'B');
      await api.upload(B(), vol.id, randomBytes(96 * MiB));
      const backup = (await api.ok(C(), 'POST', '/backups', { backup: { volume_id: vol.id, name: 'doomed' } })).backup;
      await api.poll(async () => {
        const p = (await api.ok(B(), 'GET', `/backups/${backup.id}/cinderbox-progress`)).progress;
        if (p.operation === null && p.fraction === 1) throw new Error('the backup finished before B could be killed');
        return p.operation === 'backup' && p.bytes_done > 0;
      }, 'backup under way on B', 30_000);
      await killNode(B());

      // Its volume's bytes are on B alone: A and C leave the task to B (after the lease has long expired).
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal((await api.ok(A(), 'GET', `/backups/${backup.id}`)).backup.status, 'creating');

      await start('B');
      const failed = await api.poll(async () => {
        const b = (await api.ok(A(), 'GET', `/backups/${backup.id}`)).backup;
        return b.status !== 'creating' ? b : null;
      }, 'the interrupted backup settles');
      assert.equal(failed.status, 'error');
      assert.match(failed.fail_reason, /interrupted/);
      await api.until(C(), 'volumes', vol.id, 'available');

      const verify = await api.call(C(), 'POST', '/cinderbox-repo/verify', { full: true, target: 'shared' });
      assert.equal(verify.status, 200, verify.text);
      assert.equal(verify.body.verify.ok, true, verify.text);

      const restore = (await api.ok(C(), 'POST', `/backups/${earlyBackup}/restore`, { restore: {} })).restore;
      const restored = await api.until(C(), 'volumes', restore.volume_id, 'available');
      assert.equal(await api.digest(byName(nodeOf(restored['os-vol-host-attr:host'])), restore.volume_id), earlyDigest);
    });

    test('RBD: SIGKILL of B during a backup it runs: another node fails it once the lease expires; the volume is usable again', async (t) => {
      if (!cluster.pool) return t.skip('no Ceph cluster reachable for an RBD backend');
      const vol = await newVolume(B(), 'ceph');
      await api.upload(B(), vol.id, randomBytes(64 * MiB));
      const backup = (await api.ok(B(), 'POST', '/backups', { backup: { volume_id: vol.id } })).backup;
      // B took it (the node answering the request runs what any node may run); killed while it runs.
      await api.poll(async () => {
        const p = (await api.ok(B(), 'GET', `/backups/${backup.id}/cinderbox-progress`)).progress;
        if (p.operation === null && p.fraction === 1) throw new Error('the backup finished before B could be killed');
        return p.operation === 'backup';
      }, 'backup under way on B', 20_000);
      await killNode(B());
      const failed = await api.poll(async () => {
        const b = (await api.ok(A(), 'GET', `/backups/${backup.id}`)).backup;
        return b.status !== 'creating' ? b : null;
      }, 'the interrupted backup settles through another node');
      assert.equal(failed.status, 'error');
      assert.match(failed.fail_reason, /interrupted/);
      await api.until(A(), 'volumes', vol.id, 'available');
      const verify = await api.call(A(), 'POST', '/cinderbox-repo/verify', { full: true, target: 'shared' });
      assert.equal(verify.body.verify.ok, true, verify.text);
      await start('B');
    });

    test('RBD: SIGKILL of B right after it accepted a clone: the clone and its source end in consistent states', async (t) => {
      if (!cluster.pool) return t.skip('no Ceph cluster reachable for an RBD backend');
      const src = await newVolume(A(), 'ceph');
      const clone = (await api.ok(B(), 'POST', '/volumes', { volume: { size: 1, source_volid: src.id } })).volume;
      await killNode(B());
      const settled = await api.poll(async () => {
        const v = (await api.ok(C(), 'GET', `/volumes/${clone.id}`)).volume;
        return v.status === 'available' || v.status === 'error' ? v : null;
      }, 'the clone settles through another node');
      assert.ok(['available', 'error'].includes(settled.status));
      assert.equal((await api.ok(C(), 'GET', `/volumes/${src.id}`)).volume.status, 'available');
      // Either way the clone can be deleted, and the source with it.
      await api.ok(C(), 'DELETE', `/volumes/${clone.id}`);
      await start('B');
    });

    test('python-openstackclient against node B: volume create, volume list, volume snapshot create', async (t) => {
      const why = await missingTools([OPENSTACK], ['openstackclient']);
      if (why) return t.skip(why);
      const home = await mkdtemp(join(tmpdir(), 'cinderbox-cluster-osc-'));
      try {
        const clouds = await writeClouds(home, {
          nodeB: cloudEntry(`${B().url}/identity/v3`, { username: 'admin', password: ADMIN_PASSWORD, projectName: 'admin' }),
        });
        const osc = new Cli(OPENSTACK, cloudEnv(clouds, 'nodeB', home));
        const created = await osc.json<{ id: string }>(['volume', 'create', '--size', '1', 'osc-on-b']);
        const vol = await api.until(B(), 'volumes', created.id, 'available');
        const listed = await osc.json<{ ID: string; Name: string; Status: string }[]>(['volume', 'list']);
        assert.ok(listed.some((v) => v.ID === created.id && v.Name === 'osc-on-b' && v.Status === 'available'));
        // Wherever the scheduler put it, the snapshot asked of B is made by the volume's node.
        const snap = await osc.json<{ id: string }>(['volume', 'snapshot', 'create', '--volume', created.id, 'osc-snap-on-b']);
        await api.until(B(), 'snapshots', snap.id, 'available');
        const shown = await osc.json<{ status: string; volume_id: string }>(['volume', 'snapshot', 'show', snap.id]);
        assert.deepEqual([shown.status, shown.volume_id], ['available', created.id]);
        t.diagnostic(`volume on ${vol['os-vol-host-attr:host']}`);
      } finally {
        await rm(home, { recursive: true, force: true });
      }
    });

    test('a stopped node’s services go down within the down time; its volumes stay readable and their work waits for it', async () => {
      const vol = await onlyOn('C', () => newVolume(A()));
      await stopNode(C());
      const started = Date.now();
      await api.poll(
        async () => {
          const mine = (await api.services(A())).filter((s) => s.host === 'C' || s.host.startsWith('C@'));
          // Scheduler, backup and one volume service per backend.
          return mine.length === (cluster.pool ? 4 : 3) && mine.every((s) => s.state === 'down');
        },
        'C down',
        (DOWN_SECONDS + 3) * 1000,
      );
      console.log(`# C's services were down ${((Date.now() - started) / 1000).toFixed(1)} s after it stopped (down time ${DOWN_SECONDS} s)`);
      assert.ok((await api.services(B())).filter((s) => s.host === 'B' || s.host.startsWith('B@')).every((s) => s.state === 'up'));

      assert.equal((await api.ok(B(), 'GET', `/volumes/${vol.id}`)).volume.status, 'available');
      const snap = (await api.ok(A(), 'POST', '/snapshots', { snapshot: { volume_id: vol.id } })).snapshot;
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await api.ok(B(), 'GET', `/snapshots/${snap.id}`)).snapshot.status, 'creating', 'no other node takes the work of C’s volume');
      await start('C');
      await api.until(A(), 'snapshots', snap.id, 'available');
    });
  });
});
