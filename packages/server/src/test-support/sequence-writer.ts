import type { TestServer } from './harness.js';

/** The block the writer writes: the sequence number in its first 8 bytes (big-endian), the rest zero. */
const BLOCK = 512;

export interface Who {
  token: string;
  projectId: string;
}

export interface SequenceWriter {
  /** The last round written to both volumes. */
  readonly rounds: number;
  /** Uploads refused because the volume was busy (claimed by a backup), retried. */
  readonly refusals: number;
  /** Settles when the writer ends: rejects if a write failed other than by a busy refusal. */
  readonly ended: Promise<void>;
  /** Stops after the round in progress (both volumes written) and returns the final counts. */
  stop(): Promise<{ rounds: number; refusals: number }>;
}

/**
 * A client of the data API that writes round n = 1, 2, … to volume A and then to volume B (each write waits
 * for its answer before the next is sent), until stopped. So at every moment A holds round a and B round b with
 * b ≤ a ≤ b + 1, and a consistent copy of both must show the same. An upload refused because the volume is busy
 * (400, status not available) is retried, as a client would.
 */
export function startSequenceWriter(ts: TestServer, who: Who, a: string, b: string, volumeBytes: number): SequenceWriter {
  let stopping = false;
  let rounds = 0;
  let refusals = 0;
  const put = async (volumeId: string, n: number) => {
    const block = Buffer.alloc(BLOCK);
    block.writeBigUInt64BE(BigInt(n), 0);
    for (;;) {
      const r = await ts.request('PUT', `/v3/${who.projectId}/volumes/${volumeId}/cinderbox-data`, {
        token: who.token,
        rawBody: block,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `bytes 0-${BLOCK - 1}/${volumeBytes}` },
      });
      if (r.status >= 200 && r.status < 300) return;
      if (r.status !== 400 || !/status/i.test(r.text)) throw new Error(`upload to ${volumeId}: ${r.status} ${r.text}`);
      refusals++;
      await new Promise((res) => setTimeout(res, 5));
    }
  };
  const loop = (async () => {
    for (let n = 1; !stopping; n++) {
      await put(a, n);
      await put(b, n);
      rounds = n;
    }
  })();
  loop.catch(() => {});
  return {
    ended: loop,
    get rounds() {
      return rounds;
    },
    get refusals() {
      return refusals;
    },
    async stop() {
      stopping = true;
      await loop;
      return { rounds, refusals };
    },
  };
}

/** The round number a volume's or snapshot's first block holds (through the data API's GET). */
export async function readRound(ts: TestServer, who: Who, kind: 'volumes' | 'snapshots', id: string): Promise<number> {
  const r = await fetch(`${ts.url}/v3/${who.projectId}/${kind}/${id}/cinderbox-data`, {
    headers: { 'X-Auth-Token': who.token, Range: `bytes=0-${BLOCK - 1}` },
  });
  if (r.status !== 206) throw new Error(`read ${kind} ${id}: ${r.status} ${await r.text()}`);
  return Number(Buffer.from(await r.arrayBuffer()).readBigUInt64BE(0));
}

/** Waits until the writer has finished at least `n` rounds. */
export async function roundsDone(w: SequenceWriter, n: number): Promise<void> {
  let ended = false;
  w.ended.then(
    () => (ended = true),
    () => (ended = true),
  );
  while (w.rounds < n && !ended) await new Promise((res) => setTimeout(res, 5));
  await Promise.race([w.ended, Promise.resolve()]);
  if (w.rounds < n) await w.ended;
}
