/**
 * Request conformance with openstacksdk: the same scripted block-storage operations are done by Debian's
 * openstacksdk 0.101 (pinned to microversion 3.0) and by our SDK (pinned to 3.0), each through a recording proxy
 * in front of the real server. Method, path, query and JSON body must match, except for the checked-in list of
 * intended differences (intended-differences.json, sdk-model.md §5.6).
 *
 * Not compared here: manage/unmanage, backup export/import/update and v2 update_snapshot (0.101 lacks them);
 * python-cinderclient comparisons for those are not written yet.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, request as httpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../test-support/harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

interface Recorded {
  method: string;
  path: string;
  query: string;
  body: unknown;
}

/** A proxy that records JSON requests only while resumed (scripts toggle it with /__conformance/{resume,pause}). */
async function recordingProxy(target: string) {
  const requests: Recorded[] = [];
  let recording = false;
  const t = new URL(target);
  let self = '';
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname.startsWith('/__conformance/')) {
      recording = u.pathname.endsWith('/resume');
      res.end('ok');
      return;
    }
    if (recording && !u.pathname.startsWith('/identity/')) {
      requests.push({
        method: req.method ?? 'GET',
        path: u.pathname.replace(/\/+$/, ''),
        query: [...u.searchParams].map(([k, v]) => `${k}=${v}`).sort().join('&'),
        body: raw.length ? JSON.parse(raw.toString('utf8')) : undefined,
      });
    }
    const up = httpRequest(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } },
      async (r) => {
        const out: Buffer[] = [];
        for await (const c of r) out.push(c as Buffer);
        const h = { ...r.headers };
        delete h['content-length'];
        delete h['transfer-encoding'];
        res.writeHead(r.statusCode ?? 502, h);
        res.end(Buffer.concat(out).toString('utf8').replaceAll(target, self));
      },
    );
    up.end(raw);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  self = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: self,
    requests,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** JSON with sorted keys, so key order does not count as a difference. */
function canonical(v: unknown): string {
  if (v === undefined) return '';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Replaces the project id and every UUID by placeholders numbered in order of first appearance. */
function normalize(list: Recorded[], projectId: string): Recorded[] {
  const ids = new Map<string, string>();
  const sub = (s: string) =>
    s
      .replaceAll(projectId, '<project>')
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (m) => {
        if (!ids.has(m)) ids.set(m, `<id${ids.size + 1}>`);
        return ids.get(m) as string;
      });
  return list.map((r) => ({
    method: r.method,
    path: sub(r.path),
    query: sub(r.query),
    body: r.body === undefined ? undefined : JSON.parse(sub(JSON.stringify(r.body))),
  }));
}

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
    const sdkUrl = new URL('../../../../sdk/src/index.ts', import.meta.url).href;
    const { Connection } = (await import(sdkUrl)) as typeof import('../../../../sdk/src/index.js');
    const mark = (what: string) => fetch(`${ts.url}/__conformance/${what}`).then((r) => r.text());
    const conn = new Connection({
      auth: {
        authUrl: `${ts.url}/identity/v3`,
        username: 'admin',
        password: ADMIN_PASSWORD,
        projectName: 'admin',
        userDomainName: 'Default',
        projectDomainName: 'Default',
      },
      blockStorage: { defaultMicroversion: '3.0' },
    });
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
    differences: Array<{ step: string; openstacksdk: Recorded | null; ours: Recorded | null }>;
  };
  const key = (r: Partial<Recorded>) => `${r.method} ${r.path}?${r.query ?? ''} ${canonical(r.body)}`;
  const seenIntended = new Set<string>();

  // Requests only one side sends (listed) are taken out before the rest is paired one to one.
  const dropOnly = (list: Recorded[], side: 'openstacksdk' | 'ours') => {
    let out = list;
    for (const d of intended.differences) {
      const mine = d[side];
      const other = side === 'ours' ? d.openstacksdk : d.ours;
      if (!mine || other) continue;
      const i = out.findIndex((r) => key(r) === key(mine));
      if (i >= 0) {
        seenIntended.add(d.step);
        out = [...out.slice(0, i), ...out.slice(i + 1)];
      }
    }
    return out;
  };
  const a = dropOnly(ours, 'ours');
  const b = dropOnly(theirs, 'openstacksdk');

  const fmt = (r: Recorded | undefined) => (r ? key(r) : '(none)');
  assert.equal(a.length, b.length, `request count differs:\nours:\n${a.map(fmt).join('\n')}\nopenstacksdk:\n${b.map(fmt).join('\n')}`);
  const unexplained: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Recorded;
    const y = b[i] as Recorded;
    if (key(x) === key(y)) continue;
    const hit = intended.differences.find((d) => d.ours && d.openstacksdk && key(d.ours) === key(x) && key(d.openstacksdk) === key(y));
    if (hit) seenIntended.add(hit.step);
    else unexplained.push(`#${i}\n  ours:         ${fmt(x)}\n  openstacksdk: ${fmt(y)}`);
  }
  assert.deepEqual(unexplained, [], `unlisted differences:\n${unexplained.join('\n')}`);
  assert.deepEqual([...seenIntended].sort(), intended.differences.map((d) => d.step).sort(), 'every listed difference still occurs');
  assert.ok(ours.length >= 20, `compared ${ours.length} requests`);
});
