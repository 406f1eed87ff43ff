/**
 * A fixed pool of chunk workers. Tasks go to the least-loaded worker; callers bound how many they keep in
 * flight, so memory stays proportional to workers × queue depth × chunk size whatever the volume size.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DIRECT_IO_ALIGNMENT, type WorkerInit, type WorkerReply, type WorkerTask } from './worker-protocol.js';

const SOURCE_MODE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(SOURCE_MODE ? './chunk-worker.ts' : './chunk-worker.js', import.meta.url);

let bundled: URL | null | undefined;

/**
 * Running from sources (tests, benchmarks), the worker is bundled once per process into plain JS with esbuild
 * (tsx's own compiler, so present wherever tsx is): loading tsx in every worker cost ~65 MiB of RSS and its
 * start-up per worker. Null when esbuild is unavailable.
 */
function bundledWorker(): URL | null {
  if (bundled !== undefined) return bundled;
  try {
    // Typed locally: esbuild is tsx's dependency, not this package's.
    const esbuild = createRequire(import.meta.url)('esbuild') as {
      buildSync(o: Record<string, unknown>): { outputFiles?: Array<{ text: string }> };
    };
    const out = esbuild.buildSync({
      entryPoints: [fileURLToPath(WORKER_URL)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
    const code = out.outputFiles?.[0]?.text;
    bundled = code ? new URL(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`) : null;
  } catch {
    bundled = null;
  }
  return bundled;
}

/**
 * Compiled, the worker is the .js next to this file. From sources, the bundled plain-JS worker; as a last
 * resort a bootstrap registers tsx in the worker (Node 20 does not apply the parent's loader hooks to workers).
 */
function newWorker(workerData: WorkerInit): Worker {
  if (!SOURCE_MODE) return new Worker(WORKER_URL, { workerData });
  const url = bundledWorker();
  // A data: module cannot resolve packages: native dependencies resolve from this file instead.
  if (url) return new Worker(url, { workerData: { ...workerData, requireFrom: import.meta.url } });
  const bootstrap = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

interface Pending {
  resolve: (reply: WorkerReply) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  dead: boolean;
}

export type PoolInit = Omit<WorkerInit, 'slots' | 'slotSize' | 'slotBase' | 'slotStride' | 'requireFrom'>;

const PAGE = DIRECT_IO_ALIGNMENT;
/**
 * Where a large SharedArrayBuffer's memory is expected to be page-aligned: V8 takes it from calloc, which glibc
 * serves from mmap for sizes this large, past its 16-byte chunk header. Only a guess about the address: a wrong
 * one costs the fs store one refused O_DIRECT write, after which it writes these slots through the page cache.
 */
const EXPECTED_PAGE_OFFSET = (PAGE - 16) % PAGE;

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private seq = 0;
  private closed = false;
  private readonly init: WorkerInit;
  private readonly freeBuffers: number[] = [];
  private readonly bufferWaiters: Array<(i: number) => void> = [];

  /**
   * `buffers` shared chunk-object buffers of `bufferSize` bytes: the bound on chunks in flight across all
   * operations of this pool (untouched pages of a buffer cost no memory).
   */
  constructor(
    private readonly size: number,
    init: PoolInit,
    readonly bufferSize: number,
    buffers: number,
  ) {
    const slotStride = Math.ceil(bufferSize / PAGE) * PAGE;
    this.init = {
      ...init,
      slots: new SharedArrayBuffer(EXPECTED_PAGE_OFFSET + slotStride * buffers),
      slotSize: bufferSize,
      slotBase: EXPECTED_PAGE_OFFSET,
      slotStride,
    };
    for (let i = 0; i < buffers; i++) this.freeBuffers.push(i);
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  get buffers(): number {
    return Math.floor((this.init.slots.byteLength - this.init.slotBase) / this.init.slotStride);
  }

  /** Waits for a free shared buffer; give it back with releaseBuffer once no task uses it any more. */
  acquireBuffer(): Promise<number> {
    const i = this.freeBuffers.pop();
    if (i !== undefined) return Promise.resolve(i);
    return new Promise((resolve) => this.bufferWaiters.push(resolve));
  }

  releaseBuffer(i: number): void {
    const waiter = this.bufferWaiters.shift();
    if (waiter) waiter(i);
    else this.freeBuffers.push(i);
  }

  /**
   * Shared buffer `i` with its page-rounded tail (a view): whole pages, so an O_DIRECT read can fill it up to an
   * object of `bufferSize` bytes without reaching into the next buffer.
   */
  paddedBuffer(i: number): Buffer {
    return this.buffer(i, this.init.slotStride);
  }

  /** The first `length` bytes of shared buffer `i` (a view, no copy). */
  buffer(i: number, length = this.bufferSize): Buffer {
    return Buffer.from(this.init.slots, this.init.slotBase + i * this.init.slotStride, length);
  }

  get workers(): number {
    return this.size;
  }

  private spawn(): Slot {
    const worker = newWorker(this.init);
    const slot: Slot = { worker, pending: new Map(), dead: false };
    worker.on('message', (reply: WorkerReply) => {
      const p = slot.pending.get(reply.seq);
      if (!p) return;
      slot.pending.delete(reply.seq);
      p.resolve(reply);
    });
    const fail = (err: Error) => {
      if (slot.dead) return;
      // Replaced lazily by the next run(), so a worker that cannot even start does not respawn in a loop.
      slot.dead = true;
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`chunk worker exited with code ${code}`)));
    // Idle workers must not keep the process alive.
    worker.unref();
    return slot;
  }

  private live(): Slot[] {
    for (let i = 0; i < this.slots.length; i++) {
      if (this.slots[i]?.dead) this.slots[i] = this.spawn();
    }
    return this.slots;
  }

  /** Runs one task; rejects only if the worker dies (task errors come back as replies of kind 'error'). */
  run(task: WorkerTask, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    const slots = this.live();
    let slot = slots[0] as Slot;
    for (const s of slots) if (s.pending.size < slot.pending.size) slot = s;
    const seq = ++this.seq;
    return new Promise<WorkerReply>((resolve, reject) => {
      slot.pending.set(seq, { resolve, reject });
      slot.worker.ref();
      slot.worker.postMessage({ ...task, seq }, transfer);
    }).finally(() => {
      if (slot.pending.size === 0) slot.worker.unref();
    });
  }

  /** Sends a task to every worker (e.g. to close a file they all opened). */
  async broadcast(task: WorkerTask): Promise<void> {
    await Promise.all(
      this.slots
        .filter((slot) => !slot.dead)
        .map((slot) => {
          const seq = ++this.seq;
          return new Promise<void>((resolve, reject) => {
            slot.pending.set(seq, { resolve: () => resolve(), reject });
            slot.worker.ref();
            slot.worker.postMessage({ ...task, seq });
          }).finally(() => {
            if (slot.pending.size === 0) slot.worker.unref();
          });
        }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.slots) s.dead = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
