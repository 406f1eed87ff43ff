import type { TestServer } from '../../../test-support/harness.js';
import { waitFor } from '../../../test-support/harness.js';

/** Polls a resource over the API (faster than a CLI round trip) until `accept` holds for its body. */
export async function waitResource(
  ts: TestServer,
  token: string,
  path: string,
  key: 'volume' | 'snapshot',
  accept: (r: any) => boolean,
  what: string,
): Promise<any> {
  let last: unknown = null;
  try {
    return await waitFor(async () => {
      const res = await ts.request('GET', path, { token });
      last = res.status === 200 ? res.body[key] : res.text;
      return res.status === 200 && accept(res.body[key]) ? res.body[key] : null;
    }, what);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`);
  }
}

export function waitStatus(ts: TestServer, token: string, path: string, key: 'volume' | 'snapshot', status: string): Promise<any> {
  return waitResource(ts, token, path, key, (r) => r.status === status, `${path} to be ${status}`);
}

export async function waitGone(ts: TestServer, token: string, path: string): Promise<void> {
  let last = 0;
  try {
    await waitFor(async () => {
      last = (await ts.request('GET', path, { token })).status;
      return last === 404;
    }, `${path} to be deleted`);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status ${last}`);
  }
}

/** Makes an available volume `in-use` the way Nova does without the attachments API: reserve, then attach. */
export async function attachVolume(ts: TestServer, token: string, projectId: string, volumeId: string): Promise<void> {
  const base = `/v3/${projectId}/volumes/${volumeId}`;
  const reserve = await ts.request('POST', `${base}/action`, { token, body: { 'os-reserve': null } });
  if (reserve.status !== 202) throw new Error(`os-reserve: ${reserve.status} ${reserve.text}`);
  const attach = await ts.request('POST', `${base}/action`, {
    token,
    body: { 'os-attach': { host_name: 'client-suite-host', mountpoint: '/dev/vdb', mode: 'rw' } },
  });
  if (attach.status !== 202) throw new Error(`os-attach: ${attach.status} ${attach.text}`);
  await waitStatus(ts, token, base, 'volume', 'in-use');
}

/** Detaches the single attachment of a volume (begin_detaching, then detach). */
export async function detachVolume(ts: TestServer, token: string, projectId: string, volumeId: string): Promise<void> {
  const base = `/v3/${projectId}/volumes/${volumeId}`;
  const begin = await ts.request('POST', `${base}/action`, { token, body: { 'os-begin_detaching': null } });
  if (begin.status !== 202) throw new Error(`os-begin_detaching: ${begin.status} ${begin.text}`);
  const detach = await ts.request('POST', `${base}/action`, { token, body: { 'os-detach': null } });
  if (detach.status !== 202) throw new Error(`os-detach: ${detach.status} ${detach.text}`);
  await waitStatus(ts, token, base, 'volume', 'available');
}
