/**
 * Helpers for request-conformance tests: a recording proxy in front of the server, normalisation of ids, and the
 * comparison of two request lists against a checked-in list of intended differences.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, request as httpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  query: string;
  body: unknown;
}

export interface IntendedDifference {
  step: string;
  /** The reference client's request, or null when only ours sends one. */
  reference: Recorded | null;
  ours: Recorded | null;
  why: string;
}

/** A proxy that records JSON requests only while resumed (scripts toggle it with /__conformance/{resume,pause}). */
export async function recordingProxy(target: string) {
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
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** JSON with sorted keys, so key order does not count as a difference. */
export function canonical(v: unknown): string {
  if (v === undefined) return '';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Replaces the project id and every UUID (and the given extra strings) by placeholders: UUIDs numbered in order of
 * first appearance, so two runs on different objects compare equal when they do the same things.
 */
export function normalize(list: Recorded[], projectId: string, extra: Record<string, string> = {}): Recorded[] {
  const ids = new Map<string, string>();
  const sub = (s: string) => {
    let out = s.replaceAll(projectId, '<project>');
    for (const [from, to] of Object.entries(extra)) out = out.replaceAll(from, to);
    return out.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (m) => {
      if (!ids.has(m)) ids.set(m, `<id${ids.size + 1}>`);
      return ids.get(m) as string;
    });
  };
  return list.map((r) => ({
    method: r.method,
    path: sub(r.path),
    query: sub(r.query),
    body: r.body === undefined ? undefined : JSON.parse(sub(JSON.stringify(r.body))),
  }));
}

export const key = (r: Partial<Recorded>) => `${r.method} ${r.path}?${r.query ?? ''} ${canonical(r.body)}`;

/**
 * Asserts that `ours` and `reference` are the same requests in the same order, except the intended differences,
 * and that every intended difference still occurs.
 */
export function assertConformance(ours: Recorded[], reference: Recorded[], intended: IntendedDifference[], referenceName: string): void {
  const seen = new Set<string>();
  const dropOnly = (list: Recorded[], side: 'reference' | 'ours') => {
    let out = list;
    for (const d of intended) {
      const mine = d[side];
      const other = side === 'ours' ? d.reference : d.ours;
      if (!mine || other) continue;
      const i = out.findIndex((r) => key(r) === key(mine));
      if (i >= 0) {
        seen.add(d.step);
        out = [...out.slice(0, i), ...out.slice(i + 1)];
      }
    }
    return out;
  };
  const a = dropOnly(ours, 'ours');
  const b = dropOnly(reference, 'reference');
  const fmt = (r: Recorded | undefined) => (r ? key(r) : '(none)');
  assert.equal(
    a.length,
    b.length,
    `request count differs:\nours:\n${a.map(fmt).join('\n')}\n${referenceName}:\n${b.map(fmt).join('\n')}`,
  );
  const unexplained: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Recorded;
    const y = b[i] as Recorded;
    if (key(x) === key(y)) continue;
    const hit = intended.find((d) => d.ours && d.reference && key(d.ours) === key(x) && key(d.reference) === key(y));
    if (hit) seen.add(hit.step);
    else unexplained.push(`#${i}\n  ours: ${fmt(x)}\n  ${referenceName}: ${fmt(y)}`);
  }
  assert.deepEqual(unexplained, [], `unlisted differences:\n${unexplained.join('\n')}`);
  assert.deepEqual([...seen].sort(), intended.map((d) => d.step).sort(), 'every listed difference still occurs');
}

/**
 * Our SDK (from its sources) as the bootstrap admin through `baseUrl` (the recording proxy), pinned to a block-storage
 * microversion. Loaded by a computed URL, so the SDK's sources are never part of the server's program.
 */
export async function adminSdkConnection(baseUrl: string, password: string, defaultMicroversion: string) {
  const sdkUrl = new URL('../../../../../sdk/src/index.ts', import.meta.url).href;
  const { Connection } = (await import(sdkUrl)) as typeof import('../../../../../sdk/src/index.js');
  return new Connection({
    auth: {
      authUrl: `${baseUrl}/identity/v3`,
      username: 'admin',
      password,
      projectName: 'admin',
      userDomainName: 'Default',
      projectDomainName: 'Default',
    },
    blockStorage: { defaultMicroversion },
  });
}
