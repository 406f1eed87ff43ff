import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestServer, waitFor } from '../../test-support/harness.js';
import { readRound, roundsDone, startSequenceWriter } from '../../test-support/sequence-writer.js';
import { admin, backupsOf, type Caller, cbr, createVault, createVolume, waitCheckpoint, waitVolume, startCbrServer } from './test-support/cbr.js';

const GiB = 1024 ** 3;

describe('CBR checkpoint of several disks', () => {
  let ts: TestServer;
  let me: Caller;
  before(async () => {
    ts = await startCbrServer();
    me = admin(ts);
  });
  after(async () => ts.close());

  it('backs up every disk as it was at one point in time while a client keeps writing to them', async () => {
    const a = await createVolume(ts, me, 'seq-a');
    const b = await createVolume(ts, me, 'seq-b');
    const vault = await createVault(ts, me, 'seq', [a, b]);
    const writer = startSequenceWriter(ts, me, a, b, GiB);
    await roundsDone(writer, 3);
    const r = await cbr(ts, me, 'POST', '/checkpoints', { checkpoint: { vault_id: vault.id, parameters: {} } });
    assert.equal(r.status, 200, r.text);
    // No disk is skipped for an upload in flight: the checkpoint waited for it at the write gates.
    assert.deepEqual(r.body.checkpoint.vault.skipped_resources, []);
    const done = await waitCheckpoint(ts, me, r.body.checkpoint.id);
    assert.equal(done.status, 'available');
    // The writer goes on after the checkpoint: the disks were given back.
    const atEnd = writer.rounds;
    await roundsDone(writer, atEnd + 2);
    const { rounds } = await writer.stop();

    const backups = await backupsOf(ts, me, `checkpoint_id=${done.id}`);
    assert.equal(backups.length, 2);
    const round: Record<string, number> = {};
    for (const bk of backups) {
      const target = await createVolume(ts, me, `restored-${bk.resource_id}`);
      const res = await cbr(ts, me, 'POST', `/backups/${bk.id}/restore`, { restore: { volume_id: target } });
      assert.equal(res.status, 202, res.text);
      await waitVolume(ts, me, target, 'available');
      await waitFor(async () => (await cbr(ts, me, 'GET', `/backups/${bk.id}`)).body.backup.status === 'available', 'backup available');
      round[bk.resource_id] = await readRound(ts, me, 'volumes', target);
    }
    const ra = round[a]!;
    const rb = round[b]!;
    // One point in time of a client that writes A then B: B's round ≤ A's ≤ B's + 1 (never B ahead of A, never
    // A ahead by more than the one write in between).
    assert.ok(rb <= ra && ra <= rb + 1, `A holds round ${ra}, B round ${rb}`);
    assert.ok(rb >= 3, `the checkpoint came after round 3 (B holds ${rb})`);
    assert.ok(ra < rounds, `writes after the checkpoint are not in it (A ${ra}, last round ${rounds})`);
  });
});
