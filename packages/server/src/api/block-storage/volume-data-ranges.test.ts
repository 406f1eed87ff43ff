/**
 * The data extension's byte ranges, on raw and qcow2 volumes: a Content-Range upload lands at its offset, a
 * range that does not fit is refused (416/400) with nothing written, an unsatisfiable download Range is 416,
 * and a client that disconnects mid-upload leaves the volume usable.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { probeQemuImg } from '../../drivers/volume/qcow2/qemu.js';
import { startTestServer, type TestServer, waitFor } from '../../test-support/harness.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const qemu = probeQemuImg();

function fill(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

for (const backend of ['raw', 'qcow2'] as const) {
  const skip = backend === 'qcow2' && !qemu.available ? qemu.detail : false;
  describe(`byte ranges on ${backend} volumes`, { skip }, () => {
    let t: TestServer;
    let m: { projectId: string; token: string };

    before(async () => {
      t = await startTestServer({ backends: [{ name: backend, driver: backend, pool: backend }] });
      m = await t.createMember(`ranges-${backend}`);
    });
    after(async () => t?.close());

    const dataUrl = (id: string) => `${t.url}/v3/${m.projectId}/volumes/${id}/cinderbox-data`;

    async function status(id: string): Promise<string> {
      return (await t.request('GET', `/v3/${m.projectId}/volumes/${id}`, { token: m.token })).body.volume.status;
    }

    async function createVolume(): Promise<string> {
      const r = await t.request('POST', `/v3/${m.projectId}/volumes`, { token: m.token, body: { volume: { size: 1 } } });
      assert.equal(r.status, 202, r.text);
      const id = r.body.volume.id as string;
      await waitFor(async () => (await status(id)) === 'available', `volume ${id} available`);
      return id;
    }

    async function put(id: string, data: Buffer, headers: Record<string, string> = {}) {
      const res = await fetch(dataUrl(id), {
        method: 'PUT',
        headers: { 'X-Auth-Token': m.token, 'Content-Type': 'application/octet-stream', ...headers },
        body: data,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
    }

    async function read(id: string, start: number, end: number): Promise<Buffer> {
      const res = await fetch(dataUrl(id), { headers: { 'X-Auth-Token': m.token, Range: `bytes=${start}-${end}` } });
      assert.equal(res.status, 206);
      return Buffer.from(await res.arrayBuffer());
    }

    test('an upload with Content-Range writes its bytes at the named offset and nowhere else', async () => {
      const id = await createVolume();
      const base = fill(2 * MiB, 1);
      assert.equal((await put(id, base)).status, 200);
      // An offset that is not sector-aligned and a length that is not a whole sector.
      const start = MiB + 777;
      const piece = fill(10_001, 99);
      const end = start + piece.length - 1;
      const r = await put(id, piece, { 'Content-Range': `bytes ${start}-${end}/${GiB}` });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.written, piece.length);
      const expected = Buffer.from(base);
      piece.copy(expected, start);
      assert.ok((await read(id, 0, 2 * MiB - 1)).equals(expected), 'bytes read back match the base with the piece at its offset');
      // The total may be `*`.
      const tail = fill(512, 7);
      assert.equal((await put(id, tail, { 'Content-Range': `bytes ${GiB - 512}-${GiB - 1}/*` })).status, 200);
      assert.ok((await read(id, GiB - 512, GiB - 1)).equals(tail));
      assert.equal(await status(id), 'available');
    });

    test('a Content-Range that does not fit the volume or the body is refused and nothing is written', async () => {
      const id = await createVolume();
      const base = fill(4096, 3);
      assert.equal((await put(id, base)).status, 200);
      const piece = fill(100, 200);
      const cases: Array<[string, number, string]> = [
        [`bytes 0-99/${GiB + 1}`, 416, 'requestedRangeNotSatisfiable'], // total is not the volume's size
        [`bytes ${GiB - 50}-${GiB + 49}/*`, 416, 'requestedRangeNotSatisfiable'], // runs past the end
        ['bytes 0-49/*', 400, 'badRequest'], // Content-Length is not the range's length
        ['bytes 99-0/*', 400, 'badRequest'], // ends before it starts
        ['bytes=0-99', 400, 'badRequest'], // a Range header's syntax, not a Content-Range
        ['items 0-99/100', 400, 'badRequest'],
      ];
      for (const [header, code, fault] of cases) {
        const r = await put(id, piece, { 'Content-Range': header });
        assert.equal(r.status, code, `${header}: ${JSON.stringify(r.body)}`);
        assert.equal(typeof r.body[fault]?.message, 'string', `${header}: ${JSON.stringify(r.body)}`);
      }
      assert.ok((await read(id, 0, 4095)).equals(base), 'no refused upload wrote anything');
      assert.equal(await status(id), 'available');
    });

    test('an unsatisfiable download Range is 416 with Content-Range bytes */size in the Cinder dialect', async () => {
      const id = await createVolume();
      for (const range of [`bytes=${GiB}-`, `bytes=${GiB + 10}-${GiB + 20}`, 'bytes=-0']) {
        const res = await fetch(dataUrl(id), { headers: { 'X-Auth-Token': m.token, Range: range } });
        assert.equal(res.status, 416, range);
        assert.equal(res.headers.get('content-range'), `bytes */${GiB}`);
        const body = (await res.json()) as Record<string, { code: number; message: string }>;
        assert.equal(body.requestedRangeNotSatisfiable?.code, 416, JSON.stringify(body));
      }
    });

    test('a client that disconnects halfway through an upload leaves the volume available, and it takes the next upload', async () => {
      const id = await createVolume();
      const whole = fill(4 * MiB, 5);
      const url = new URL(dataUrl(id));
      await new Promise<void>((resolve, reject) => {
        const sock = connect(Number(url.port), url.hostname, () => {
          sock.write(
            `PUT ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nX-Auth-Token: ${m.token}\r\n` +
              `Content-Type: application/octet-stream\r\nContent-Length: ${whole.length}\r\n\r\n`,
          );
          sock.write(whole.subarray(0, whole.length / 2), () => {
            // The connection goes away only once the server has started the upload.
            waitFor(async () => (await status(id)) === 'uploading', 'upload started').then(
              () => sock.destroy(),
              (e: unknown) => {
                sock.destroy();
                reject(e as Error);
              },
            );
          });
        });
        sock.on('close', () => resolve());
        sock.on('error', reject);
      });
      // The server notices the reset and puts the volume back; no operation is left holding it.
      await waitFor(async () => (await status(id)) === 'available', 'volume back to available after the broken upload');
      const r = await put(id, whole);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok((await read(id, 0, whole.length - 1)).equals(whole));
      assert.equal(await status(id), 'available');
    });
  });
}
