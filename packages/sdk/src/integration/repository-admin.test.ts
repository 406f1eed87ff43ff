/** The cinderbox repository-maintenance extension (verify, gc) through the SDK against the live server. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Connection } from '../connection.js';
import { isHttpError } from '../errors.js';
import { adminConnection, memberConnection, startTestServer, type TestServer } from '../test-support/live.js';

let t: TestServer;
let admin: Connection;

before(async () => {
  t = await startTestServer();
  admin = adminConnection(t.url);
});
after(async () => {
  await t.close();
});

test('verifyRepository and gcRepository map the extension bodies; members get 403', async () => {
  const bs = admin.blockStorage;
  const empty = await bs.verifyRepository({ full: true });
  assert.deepEqual(empty, { ok: true, manifests: 0, chunks: 0, bytes: 0, problems: [] });
  const gc = await bs.gcRepository({ graceSeconds: 0, dryRun: true });
  assert.deepEqual(gc, { manifests: 0, chunks: 0, deleted: 0, deletedBytes: 0, keptInGrace: 0, dryRun: true });
  assert.equal((await bs.gcRepository()).dryRun, false);

  await t.createMember('repo-member');
  const member = memberConnection(t.url, 'repo-member');
  await assert.rejects(member.blockStorage.verifyRepository(), (e: unknown) => isHttpError(e) && e.status === 403);
  await assert.rejects(bs.gcRepository({ graceSeconds: -1 }), (e: unknown) => isHttpError(e) && e.status === 400);
});
