/**
 * bench/console — the web console's page weight and time to first render in Debian's headless Chromium, against a
 * real server on loopback, cold (new browser context, empty cache) beside warm (a reload: index.html revalidated,
 * hashed assets from cache). Prints one table.
 *
 *   node --import tsx bench/console/run.ts [--samples 5] [--volumes 50]
 *
 * Page weight: the Resource Timing entries of the page (navigation + resources): bytes on the wire (transferSize,
 * headers included, 0 when served from cache) and bodies before/after gzip (encodedBodySize/decodedBodySize).
 * First render: first-contentful-paint of the sign-in page, and from pressing "Sign in" to the overview table
 * holding every volume of a project with --volumes volumes (the page's own API calls included).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { buildConsole } from '../../packages/console/build.mjs';
import { startTestServer, waitFor } from '../../packages/server/src/test-support/harness.js';

const { values: args } = parseArgs({ options: { samples: { type: 'string', default: '5' }, volumes: { type: 'string', default: '50' } } });
const SAMPLES = Number(args.samples);
const VOLUMES = Number(args.volumes);
const CHROMIUM = process.env.CINDERBOX_TEST_CHROMIUM ?? '/usr/bin/chromium';

interface Sample {
  wire: number;
  encoded: number;
  decoded: number;
  requests: number;
  fcp: number;
  overview: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = await buildConsole(await mkdtemp(join(tmpdir(), 'cbx-console-bench-')));
const ts = await startTestServer({}, undefined, { consoleDir: dir });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
try {
  const m = await ts.createMember('bench');
  const quota = await ts.request('PUT', `/v3/${ts.adminProjectId}/os-quota-sets/${m.projectId}`, {
    token: ts.adminToken,
    body: { quota_set: { volumes: -1, gigabytes: -1 } },
  });
  if (quota.status !== 200) throw new Error(`quota: ${quota.status} ${quota.text}`);
  for (let i = 0; i < VOLUMES; i++) {
    const r = await ts.request('POST', `/v3/${m.projectId}/volumes`, { token: m.token, body: { volume: { size: 1, name: `vol-${i}` } } });
    if (r.status !== 202) throw new Error(`volume create: ${r.status} ${r.text}`);
  }
  await waitFor(async () => {
    const r = await ts.request('GET', `/v3/${m.projectId}/volumes/detail`, { token: m.token });
    return r.body.volumes.every((v: { status: string }) => v.status === 'available');
  }, 'volumes available', 120000);

  const weigh = `(() => {
    const all = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
      .filter((e) => new URL(e.name).pathname.startsWith('/console/'));
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    return { wire: all.reduce((s, e) => s + e.transferSize, 0), encoded: all.reduce((s, e) => s + e.encodedBodySize, 0),
      decoded: all.reduce((s, e) => s + e.decodedBodySize, 0), requests: all.length, fcp: fcp ? fcp.startTime : -1 };
  })()`;

  const cold: Sample[] = [];
  const warm: Sample[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    for (const [kind, out] of [['cold', cold], ['warm', warm]] as const) {
      if (kind === 'cold') await page.goto(`${ts.url}/console/`);
      else await page.reload();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      // FCP is recorded just after the paint: give it a frame.
      await page.waitForFunction("performance.getEntriesByName('first-contentful-paint').length > 0");
      const w = (await page.evaluate(weigh)) as Omit<Sample, 'overview'>;
      await page.getByLabel('User').fill('bench');
      await page.getByLabel('Password').fill('bench-pw');
      await page.getByLabel('Project').fill('bench');
      const t0 = Date.now();
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator(`tr[data-volume="vol-${VOLUMES - 1}"]`).waitFor();
      const overview = Date.now() - t0;
      out.push({ ...w, overview });
      // Back to the sign-in page for the warm run (sign out revokes the token).
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
    }
    await context.close();
  }

  // For scale: the part of "sign in → overview" that is the identity API's password check (scrypt), not the page.
  const issue: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = Date.now();
    const r = await ts.request('POST', '/identity/v3/auth/tokens?nocatalog', {
      body: {
        auth: {
          identity: { methods: ['password'], password: { user: { name: 'bench', domain: { id: 'default' }, password: 'bench-pw' } } },
          scope: { project: { name: 'bench', domain: { id: 'default' } } },
        },
      },
    });
    if (r.status !== 201) throw new Error(`token: ${r.status}`);
    issue.push(Date.now() - t0);
  }

  const row = (label: string, f: (s: Sample) => number, unit: string) =>
    `${label.padEnd(44)} ${`${median(cold.map(f)).toFixed(0)} ${unit}`.padStart(12)} ${`${median(warm.map(f)).toFixed(0)} ${unit}`.padStart(12)}`;
  console.log(`console page: Chromium ${browser.version()}, ${SAMPLES} samples (medians), ${VOLUMES} volumes in the project`);
  console.log(`${''.padEnd(44)} ${'cold'.padStart(12)} ${'warm'.padStart(12)}`);
  console.log(row('requests for the page', (s) => s.requests, ''));
  console.log(row('bytes on the wire (headers included)', (s) => s.wire, 'B'));
  console.log(row('bodies as sent (gzip)', (s) => s.encoded, 'B'));
  console.log(row('bodies decoded', (s) => s.decoded, 'B'));
  console.log(row('first contentful paint (sign-in page)', (s) => s.fcp, 'ms'));
  console.log(row(`sign in → overview with ${VOLUMES} volumes`, (s) => s.overview, 'ms'));
  console.log(`of which the password token request alone (no browser): ${median(issue)} ms`);
} finally {
  await browser.close();
  await ts.close();
  await rm(dir, { recursive: true, force: true });
}
