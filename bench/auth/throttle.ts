/**
 * bench/auth/throttle — what 50 concurrent password guessers do to a legitimate login, with login throttling
 * effectively off and with its defaults (5 failures / 60 s per address, 1 s lockout doubling to 300 s).
 *
 *   node --import tsx bench/auth/throttle.ts [--guessers 50] [--duration 15] [--samples 20]
 *
 * The guessers run from 127.0.0.2 against user admin (the worst case: the same user the legitimate client
 * logs in as); the legitimate client logs in from 127.0.0.1, sequentially, and its latency is reported as
 * median and p95, idle and under attack. Production scrypt cost (N=2^15) throughout.
 */
import { request as httpRequest } from 'node:http';
import { parseArgs } from 'node:util';
import { LOGIN_THROTTLE_DEFAULTS, type LoginThrottleConfig } from '../../packages/server/src/config/config.js';
import { ADMIN_PASSWORD, startTestServer } from '../../packages/server/src/test-support/harness.js';

const { values: args } = parseArgs({
  options: {
    guessers: { type: 'string', default: '50' },
    duration: { type: 'string', default: '15' },
    samples: { type: 'string', default: '20' },
  },
});
const GUESSERS = Number(args.guessers);
const DURATION_MS = Number(args.duration) * 1000;
const SAMPLES = Number(args.samples);

const body = (password: string) =>
  JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password } } } } });

function login(url: string, localAddress: string, password: string): Promise<number> {
  const payload = body(password);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}/identity/v3/auth/tokens`,
      { method: 'POST', localAddress, agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function legitLatencies(url: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const status = await login(url, '127.0.0.1', ADMIN_PASSWORD);
    out.push(performance.now() - t0);
    if (status !== 201) throw new Error(`legitimate login answered ${status}`);
  }
  return out;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (xs: number[]) => `median ${pct(xs, 50).toFixed(0)} ms, p95 ${pct(xs, 95).toFixed(0)} ms`;

async function scenario(name: string, loginThrottle: LoginThrottleConfig) {
  const s = await startTestServer({ loginThrottle });
  try {
    const idle = await legitLatencies(s.url, SAMPLES);
    let stop = false;
    const counts = new Map<number, number>();
    const guesser = async (i: number) => {
      for (let k = 0; !stop; k++) {
        const status = await login(s.url, '127.0.0.2', `guess-${i}-${k}`);
        counts.set(status, (counts.get(status) ?? 0) + 1);
      }
    };
    const t0 = performance.now();
    const attack = Promise.all(Array.from({ length: GUESSERS }, (_, i) => guesser(i)));
    // Let the attack reach its steady state before sampling.
    await new Promise((r) => setTimeout(r, 2000));
    const loaded = await legitLatencies(s.url, SAMPLES);
    const rest = DURATION_MS - (performance.now() - t0);
    if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    stop = true;
    await attack;
    const seconds = (performance.now() - t0) / 1000;
    const hashed = counts.get(401) ?? 0;
    const refused = counts.get(429) ?? 0;
    console.log(`${name}:`);
    console.log(`  legitimate login idle:         ${fmt(idle)}`);
    console.log(`  legitimate login under attack: ${fmt(loaded)}`);
    console.log(`  guesses checked (401): ${hashed} (${(hashed / seconds).toFixed(1)}/s), refused (429): ${refused} (${(refused / seconds).toFixed(0)}/s) over ${seconds.toFixed(1)} s`);
  } finally {
    await s.close();
  }
}

const OFF: LoginThrottleConfig = { ...LOGIN_THROTTLE_DEFAULTS, maxFailures: 1e9, userMaxFailures: 1e9 };
await scenario('throttling off', OFF);
await scenario('throttling on (defaults)', LOGIN_THROTTLE_DEFAULTS);
