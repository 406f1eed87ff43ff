/**
 * Request conformance with openstacksdk: the same scripted block-storage operations are done by Debian's
 * openstacksdk 0.101 (pinned to microversion 3.0) and by our SDK (pinned to 3.0), each through a recording proxy
 * in front of the real server. Method, path, query and JSON body must match, except for the checked-in list of
 * intended differences (intended-differences.json, sdk-model.md §5.6).
 *
 * Not compared here: manage/unmanage, backup export/import/update and v2 update_snapshot (0.101 lacks them);
 * cinderclient-conformance.test.ts compares the first three with python-cinderclient 9.1.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../test-support/harness.js';
import { adminSdkConnection, assertConformance, type IntendedDifference, normalize, type Recorded, recordingProxy } from './test-support/recording.js';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

async function pythonHasOpenstacksdk(): Promise<string | undefined> {
  try {
    await run('/usr/bin/python3', ['-c', 'import openstack']);
    return undefined;
  } catch (e) {
    return `openstacksdk not importable by /usr/bin/python3 (${(e as Error).message.split('\n')[0]})`;
  }
}

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(async () => {
  await t.close();
});

test('our SDK pinned to 3.0 sends what openstacksdk 0.101 sends, except the intended differences', async (ctx) => {
  const missing = await pythonHasOpenstacksdk();
  if (missing) {
    console.log(`skipped: ${missing}`);
    ctx.skip(missing);
    return;
  }

  const py = await recordingProxy(t.url);
  try {
    await run('/usr/bin/python3', [join(here, 'openstacksdk_ops.py'), py.url, ADMIN_PASSWORD], { timeout: 120_000 });
  } finally {
    await py.close();
  }

  const ts = await recordingProxy(t.url);
  try {
    const mark = (what: string) => fetch(`${ts.url}/__conformance/${what}`).then((r) => r.text());
    const conn = await adminSdkConnection(ts.url, ADMIN_PASSWORD, '3.0');
    const bs = conn.blockStorage;
    const wait = { minDelayMs: 20, maxDelayMs: 50, waitTimeoutMs: 30_000 };
    await bs.getLimits();

    await mark('resume');
    let vol = await bs.createVolume({ size: 1, name: 'conf-vol', description: 'conformance' });
    await mark('pause');
    await bs.waitForStatus(vol, wait);
    await mark('resume');
    await bs.getVolume(vol.id as string);
    await bs.volumes({ name: 'conf-vol' }).toArray();
    const snap = await bs.createSnapshot({ volumeId: vol.id, name: 'conf-snap', description: 'd', metadata: { k: 'v' } });
    await mark('pause');
    await bs.waitForStatus(snap, wait);
    await mark('resume');
    await bs.getSnapshot(snap.id as string);
    await bs.snapshots({ volumeId: vol.id }).toArray();
    await bs.snapshots({ details: false }, { limit: 1 }).toArray();
    await bs.findSnapshot('conf-snap');
    await bs.updateSnapshot(snap, { description: 'changed' });
    await bs.updateSnapshotMetadata(snap, { a: '1', b: '2' });
    await bs.snapshotMetadata(snap);
    await bs.deleteSnapshotMetadata(snap, ['a']);
    await bs.resetSnapshotStatus(snap, 'available');
    await bs.getLimits();
    await bs.getQuotaSet();
    await bs.availabilityZones().toArray();
    await bs.volumeTypes().toArray();
    await bs.deleteSnapshot(snap, { force: true });
    await mark('pause');
    await bs.waitForDelete(snap, wait);
    await mark('resume');
    await bs.extendVolume(vol, 2);
    await mark('pause');
    vol = await bs.getVolume(vol.id as string);
    await bs.waitForStatus(vol, wait);
    await mark('resume');
    await bs.deleteVolume(vol);
    await mark('pause');
  } finally {
    await ts.close();
  }

  const theirs = normalize(py.requests, t.adminProjectId);
  const ours = normalize(ts.requests, t.adminProjectId);
  const intended = JSON.parse(await readFile(join(here, 'intended-differences.json'), 'utf8')) as {
    differences: Array<{ step: string; openstacksdk: Recorded | null; ours: Recorded | null; why: string }>;
  };
  const differences: IntendedDifference[] = intended.differences.map((d) => ({ ...d, reference: d.openstacksdk }));
  assertConformance(ours, theirs, differences, 'openstacksdk');
  assert.ok(ours.length >= 20, `compared ${ours.length} requests`);
});
