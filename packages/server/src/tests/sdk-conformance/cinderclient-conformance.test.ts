/**
 * Request conformance with python-cinderclient 9.1 for what openstacksdk 0.101 lacks (see conformance.test.ts):
 * snapshot and volume unmanage/manage, backup update, backup record export and import (of a copy under a new id). Debian's cinderclient and
 * our SDK, both at microversion 3.9, each work on their own objects through a recording proxy in front of the real
 * server; method, path, query and JSON body must match except the checked-in intended differences
 * (cinderclient-intended-differences.json). Skips, saying why, when /usr/bin/python3 cannot import cinderclient.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ADMIN_PASSWORD, startTestServer, type TestServer, waitFor } from '../../test-support/harness.js';
import { adminSdkConnection, assertConformance, type IntendedDifference, normalize, type Recorded, recordingProxy } from './test-support/recording.js';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

interface Objects {
  volume: string;
  snapshot: string;
  volume2: string;
  host: string;
  backup: string;
}

let t: TestServer;
before(async () => {
  // Raw driver: the backend names of unmanaged objects (`_snapshot-<id>`, `volume-<id>`) are the raw driver's.
  t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] });
});
after(async () => {
  await t?.close();
});

const path = (p: string) => `/v3/${t.adminProjectId}${p}`;

async function statusOf(kind: 'volumes' | 'snapshots' | 'backups', id: string): Promise<string | undefined> {
  const r = await t.request('GET', path(`/${kind}/${id}`), { token: t.adminToken });
  if (r.status === 404) return undefined;
  return r.body[kind.slice(0, -1)].status as string;
}

const available = (kind: 'volumes' | 'snapshots' | 'backups', id: string) =>
  waitFor(async () => (await statusOf(kind, id)) === 'available', `${kind} ${id} available`);
const gone = (kind: 'volumes' | 'snapshots' | 'backups', id: string) =>
  waitFor(async () => (await statusOf(kind, id)) === undefined, `${kind} ${id} gone`);

/** One client's objects: a volume with a snapshot and a backup, and a second volume to unmanage. */
async function objects(tag: string): Promise<Objects> {
  const token = t.adminToken;
  const create = async (p: string, body: unknown, key: string) => {
    const r = await t.request('POST', path(p), { token, body });
    if (r.status >= 300) throw new Error(`POST ${p}: ${r.status} ${r.text}`);
    return r.body[key].id as string;
  };
  const volume = await create('/volumes', { volume: { size: 1, name: `${tag}-v1` } }, 'volume');
  const volume2 = await create('/volumes', { volume: { size: 1, name: `${tag}-v2` } }, 'volume');
  await available('volumes', volume);
  await available('volumes', volume2);
  const snapshot = await create('/snapshots', { snapshot: { volume_id: volume, name: `${tag}-s` } }, 'snapshot');
  const backup = await create('/backups', { backup: { volume_id: volume, name: `${tag}-b` } }, 'backup');
  await available('snapshots', snapshot);
  await available('backups', backup);
  const v2 = await t.request('GET', path(`/volumes/${volume2}`), { token });
  return { volume, snapshot, volume2, backup, host: v2.body.volume['os-vol-host-attr:host'] as string };
}

async function pythonHasCinderclient(): Promise<string | undefined> {
  try {
    await run('/usr/bin/python3', ['-c', 'import cinderclient, keystoneauth1']);
    return undefined;
  } catch (e) {
    return `python-cinderclient not importable by /usr/bin/python3 (${(e as Error).message.split('\n')[0]})`;
  }
}

/** backup_url is base64 of the backup row (its ids included): compared as a placeholder. */
function maskBackupUrl(list: Recorded[]): Recorded[] {
  return list.map((r) => {
    const rec = (r.body as { 'backup-record'?: { backup_url?: unknown } } | undefined)?.['backup-record'];
    if (!rec || typeof rec.backup_url !== 'string') return r;
    return { ...r, body: { 'backup-record': { ...rec, backup_url: '<backup_url>' } } };
  });
}

test('our SDK at 3.9 sends what python-cinderclient 9.1 sends for manage/unmanage and backup update/export/import, except the intended differences', async (ctx) => {
  const missing = await pythonHasCinderclient();
  if (missing) {
    console.log(`skipped: ${missing}`);
    ctx.skip(missing);
    return;
  }
  const theirObjects = await objects('cc');
  const ourObjects = await objects('sdk');

  const py = await recordingProxy(t.url);
  try {
    await run('/usr/bin/python3', [join(here, 'cinderclient_ops.py'), py.url, ADMIN_PASSWORD, JSON.stringify(theirObjects)], {
      timeout: 180_000,
    });
  } finally {
    await py.close();
  }

  const ts = await recordingProxy(t.url);
  try {
    const mark = (what: string) => fetch(`${ts.url}/__conformance/${what}`).then((r) => r.text());
    const conn = await adminSdkConnection(ts.url, ADMIN_PASSWORD, '3.9');
    const bs = conn.blockStorage;
    const o = ourObjects;
    await bs.getVolume(o.volume); // authenticate and discover before recording

    await mark('resume');
    await bs.unmanageSnapshot(o.snapshot);
    await mark('pause');
    await gone('snapshots', o.snapshot);
    await mark('resume');
    const snap = await bs.manageSnapshot({ volumeId: o.volume, ref: { 'source-name': `_snapshot-${o.snapshot}` }, name: 'm-snap' });
    await mark('pause');
    await available('snapshots', snap.id as string);
    await mark('resume');
    await bs.unmanageVolume(o.volume2);
    await mark('pause');
    await gone('volumes', o.volume2);
    await mark('resume');
    const vol = await bs.manageVolume({ host: o.host, ref: { 'source-name': `volume-${o.volume2}` }, name: 'm-vol' });
    await mark('pause');
    await available('volumes', vol.id as string);
    await mark('resume');
    await bs.updateBackup(o.backup, { name: 'renamed', description: 'after' });
    const record = await bs.exportBackup(o.backup);
    // Imported as a copy under a new id (the original stays; its data is shared), as in another deployment.
    const row = JSON.parse(Buffer.from(record.backupUrl, 'base64').toString('utf8')) as Record<string, unknown>;
    const backupUrl = Buffer.from(JSON.stringify({ ...row, id: randomUUID() }), 'utf8').toString('base64');
    await bs.importBackup({ backupService: record.backupService, backupUrl });
    await mark('pause');
  } finally {
    await ts.close();
  }

  const theirs = maskBackupUrl(normalize(py.requests, t.adminProjectId));
  const ours = maskBackupUrl(normalize(ts.requests, t.adminProjectId));
  const intended = JSON.parse(await readFile(join(here, 'cinderclient-intended-differences.json'), 'utf8')) as {
    differences: IntendedDifference[];
  };
  assertConformance(ours, theirs, intended.differences, 'cinderclient');
  // unmanage + manage of a snapshot and a volume, backup update, export, import: one request each.
  assert.equal(ours.length, 7, `compared ${ours.length} requests`);
});
