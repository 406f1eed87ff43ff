/**
 * CPU profile of this process (the bench runs the server in-process) while wrk loads it, and where the
 * self time went, by category. The raw profile is written as a .cpuprofile (Chrome DevTools, speedscope).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { Session } from 'node:inspector/promises';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export async function profiled<T>(file: string, fn: () => Promise<T>): Promise<{ result: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  // 250 µs: fine enough for per-request costs of a few µs to show up over a 10 s run.
  await session.post('Profiler.setSamplingInterval', { interval: 250 });
  await session.post('Profiler.start');
  let profile: CpuProfile | undefined;
  try {
    const result = await fn();
    return { result, profile: (profile = await stop(session, file)) };
  } finally {
    if (!profile) await stop(session, file).catch(() => {});
  }
}

async function stop(session: Session, file: string): Promise<CpuProfile> {
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
  await writeFile(file, JSON.stringify(profile));
  session.disconnect();
  return profile;
}

/** First match wins; tested against `url functionName`. */
const CATEGORIES: [string, RegExp][] = [
  ['idle', /^ \((idle)\)$/],
  ['GC', /^ \((garbage collector)\)$/],
  ['token check', /services\/identity\/|token-cache|hashToken|authenticate/],
  ['logging', /pino|thread-stream|sonic-boom/],
  ['serialisation', /fast-json-stringify|serializ|\bstringify$|fast-json|\basJson|\banon\d*$/],
  ['query', /\/store\/|kysely|better-sqlite3|\/pg\/|pg-protocol|pg-pool|\bStatement\b/],
  ['view building', /api\/block-storage\/views|api\/block-storage\/common|services\/block-storage\//],
  ['routing / hooks', /fastify|find-my-way|avvio|light-my-request|api\/common\/|api\/block-storage\//],
  ['HTTP / sockets (node core)', /^node:|^internal\/| \(program\)$|\bwriteGeneric|\bwritev?$|onStreamRead|\bParser/],
];

export function categorise(profile: CpuProfile): { categories: [string, number][]; top: [string, number][]; totalMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const key = (n: ProfileNode) => `${n.callFrame.url} ${n.callFrame.functionName}`;
  const classify = (id: number): string => {
    // The profiler's own collection at the end is the bench's, not the server's.
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) if (byId.get(cur)!.callFrame.url.includes('bench/api/profile')) return 'idle';
    // Builtins (no url) take their caller's category: a Map lookup inside the router is routing.
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      const k = key(n);
      if (n.callFrame.url === '' && !/^ \(|stringify$/.test(k)) continue;
      // Hashing is charged to whoever hashes (the token check, mostly), not to node core.
      if (/^node:(internal\/)?crypto/.test(n.callFrame.url)) continue;
      for (const [name, re] of CATEGORIES) if (re.test(k)) return name;
      if (n.callFrame.url !== '') return 'other';
    }
    return 'other';
  };
  const cats = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const c = classify(id);
    cats.set(c, (cats.get(c) ?? 0) + us);
    if (c !== 'idle') total += us;
    const short = n.callFrame.url.replace(/^.*\/node_modules\//, '').replace(/^.*\/packages\//, '').replace(/^file:\/\//, '');
    const f = `${n.callFrame.functionName || '(anonymous)'} ${short}${short ? `:${n.callFrame.lineNumber + 1}` : ''} [${c}]`;
    fns.set(f, (fns.get(f) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { categories: sorted(cats).filter(([c]) => c !== 'idle'), top: sorted(fns).filter(([f]) => !f.includes('[idle]')).slice(0, 25), totalMs: total / 1000 };
}

export function printProfile(title: string, profile: CpuProfile): void {
  const { categories, top, totalMs } = categorise(profile);
  console.log(`\n${title}: ${totalMs.toFixed(0)} ms of busy CPU on the server's thread (idle left out)`);
  for (const [c, us] of categories) console.log(`  ${c.padEnd(28)} ${(us / 1000).toFixed(0).padStart(7)} ms  ${((us / 1000 / totalMs) * 100).toFixed(1).padStart(5)} %`);
  console.log('  top self time:');
  for (const [f, us] of top) console.log(`    ${((us / 1000 / totalMs) * 100).toFixed(1).padStart(5)} %  ${f}`);
}

// `node --import tsx bench/api/profile.ts FILE.cpuprofile…`: summarise profiles already written.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const file of process.argv.slice(2)) printProfile(file, JSON.parse(await readFile(file, 'utf8')) as CpuProfile);
}
