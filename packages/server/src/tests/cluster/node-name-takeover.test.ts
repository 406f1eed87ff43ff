/**
 * A node that stalls past the down time (SIGSTOP: a paused VM, a long GC) and is replaced by another process
 * under the same name must not come back as a second holder: on waking its heartbeat finds the name taken, writes
 * nothing, and the process stops taking tasks and exits 1 with a line naming the new holder. Two real child
 * `serve` nodes on one PostgreSQL database (CINDERBOX_TEST_POSTGRES_URL, or CINDERBOX_TEST_DATABASE_URL).
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { DOWN_SECONDS, TestCluster, withPostgres } from './cluster-support.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every file name under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.map(String);
}

withPostgres('node-name takeover after a stall', ['CINDERBOX_TEST_POSTGRES_URL', 'CINDERBOX_TEST_DATABASE_URL'], (pgAdmin) => {
  describe('node-name takeover after a stall (2 child nodes on one PostgreSQL)', { timeout: 180_000 }, () => {
    const cluster = new TestCluster(pgAdmin, { label: 'takeover', backends: 'local:raw' });
    const { api } = cluster;

    before(() => cluster.setUp());

    after(() => cluster.tearDown());

    test('SIGSTOP past the down time, a new process claims the name, SIGCONT: the old one writes nothing, takes no task and exits 1 naming the new holder', async () => {
      const dirOld = cluster.dir('old');
      const dirNew = cluster.dir('new');
      const old = await cluster.start('X', dirOld);
      await api.login(old);

      old.proc.kill('SIGSTOP');
      // Its heartbeats age past the down time; a second process under the same name may then claim it.
      await sleep((DOWN_SECONDS + 2) * 1000);
      const fresh = await cluster.start('X', dirNew);
      const exited = new Promise<number | null>((r) => old.proc.once('exit', (code) => r(code)));

      // Work bound to node X is queued while the old process wakes: only the new holder may run it.
      const created: string[] = [];
      for (let i = 0; i < 3; i++) created.push((await api.ok(fresh, 'POST', '/volumes', { volume: { size: 1 } })).volume.id);
      old.proc.kill('SIGCONT');
      for (let i = 0; i < 3; i++) created.push((await api.ok(fresh, 'POST', '/volumes', { volume: { size: 1 } })).volume.id);

      const code = await Promise.race([exited, sleep(30_000).then(() => 'still running' as const)]);
      assert.equal(code, 1, `the stale process: ${code}; its log: ${old.out().slice(-2000)}`);
      const lost = old
        .out()
        .split('\n')
        .filter((l) => l.includes('was taken over'));
      assert.equal(lost.length, 1, old.out().slice(-2000));
      assert.match(
        (JSON.parse(lost[0]!) as { msg: string }).msg,
        new RegExp(`^node name "X" was taken over by process ${fresh.proc.pid} on .* \\(stalled past the ${DOWN_SECONDS} s down time\\): this process stops taking tasks and shuts down$`),
      );

      for (const id of created) await api.until(fresh, 'volumes', id, 'available');
      // The volumes' files are the new holder's: the stale process ran none of their creates.
      const oldFiles = (await filesUnder(dirOld)).join('\n');
      const newFiles = (await filesUnder(dirNew)).join('\n');
      for (const id of created) {
        assert.ok(!oldFiles.includes(id), `volume ${id} has a file in the stale node's data directory`);
        assert.ok(newFiles.includes(id), `volume ${id} has no file in the new holder's data directory`);
      }

      // The new holder's heartbeats go on: X's services stay up through the down time after the stale one left.
      await sleep((DOWN_SECONDS + 1) * 1000);
      const services = await api.services(fresh);
      const own = services.filter((s) => s.host === 'X' || s.host.startsWith('X@'));
      assert.equal(own.length, 3, JSON.stringify(services));
      for (const s of own) assert.equal(s.state, 'up', JSON.stringify(s));
      assert.equal(fresh.proc.exitCode, null, 'the new holder keeps running');
    });
  });
});
