/**
 * The console in a real headless Chromium (Debian's, driven by playwright-core) against a real server: what a
 * person at the page sees, from sign-in to restore. Screenshots of the main views go to tmp/console-screenshots
 * (CINDERBOX_TEST_ARTIFACTS overrides) and are checked to hold a real picture.
 *
 * Without Chromium the suite is skipped with the reason, unless CINDERBOX_TEST_BROWSER=require (CI sets it).
 * Chromium refuses to start its sandbox as root; only then is it run with --no-sandbox.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildConsole } from '../build.mjs';
import { ADMIN_PASSWORD, type TestServer, startTestServer, waitFor } from '../../server/src/test-support/harness.js';
import { cbr, createVault, createVolume, waitVolume, noise, type Caller } from '../../server/src/api/cbr/test-support/cbr.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..', '..');
const CHROMIUM = process.env.CINDERBOX_TEST_CHROMIUM ?? '/usr/bin/chromium';
const artifacts = process.env.CINDERBOX_TEST_ARTIFACTS ?? join(repoRoot, 'tmp', 'console-screenshots');
const required = process.env.CINDERBOX_TEST_BROWSER === 'require';
const missing = existsSync(CHROMIUM) ? null : `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CINDERBOX_TEST_CHROMIUM)`;
if (missing && required) throw new Error(`CINDERBOX_TEST_BROWSER=require: ${missing}`);
if (missing) console.log(`# skipping the browser suite: ${missing}`);

/** Launch options shared with bench/console: Debian's Chromium, headless, no sandbox only when root forces it. */
function chromiumArgs(): string[] {
  return process.getuid?.() === 0 ? ['--no-sandbox'] : [];
}

/**
 * Distinct colours in a PNG, decoded by the browser itself (a canvas on a blank page, which has no CSP), so
 * no PNG decoder is needed here. A blank or single-colour screenshot has one or two.
 */
async function distinctColours(browser: Browser, png: Buffer): Promise<number> {
  const page = await browser.newPage();
  try {
    return await page.evaluate(`(async () => {
      const img = new Image();
      img.src = 'data:image/png;base64,${png.toString('base64')}';
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width; c.height = img.height;
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set();
      for (let i = 0; i < d.length; i += 16) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      return seen.size;
    })()`);
  } finally {
    await page.close();
  }
}

describe('web console in Chromium', { skip: missing ?? false }, () => {
  let ts: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let alice: Caller & { userId: string };
  let bob: Caller & { userId: string };
  let aliceVolume: string;
  const shots: string[] = [];
  let consoleDir: string | undefined;

  async function shoot(name: string, p: Page = page): Promise<void> {
    const png = await p.screenshot({ fullPage: false });
    const file = join(artifacts, `${name}.png`);
    await writeFile(file, png);
    shots.push(file);
    const colours = await distinctColours(browser, png);
    assert.ok(colours > 8, `${name}.png looks blank: ${colours} distinct colours`);
  }

  async function signIn(user: string, password: string, project: string): Promise<void> {
    await page.goto(`${ts.url}/console/`);
    await page.getByLabel('User').fill(user);
    await page.getByLabel('Password').fill(password);
    await page.getByLabel('Project').fill(project);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  /** What the page's event stream has delivered so far (main.tsx keeps it on window.cinderboxStream). */
  async function streamRecord(): Promise<{ received: number; seen: string[] }> {
    return (await page.evaluate('window.cinderboxStream ?? { received: 0, seen: [] }')) as { received: number; seen: string[] };
  }

  async function streamOpen(): Promise<void> {
    await page.locator('.shell[data-stream="open"]').waitFor();
  }

  async function confirm(): Promise<void> {
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
  }

  before(async () => {
    await mkdir(artifacts, { recursive: true });
    // Always from the sources of this checkout (a stale dist would test yesterday's page), and into a directory of
    // its own: other suites' servers read packages/console/dist as they start.
    consoleDir = await buildConsole(await mkdtemp(join(tmpdir(), 'cbx-console-build-')));
    ts = await startTestServer({}, undefined, { consoleDir });
    alice = await ts.createMember('alice');
    bob = await ts.createMember('bob');
    aliceVolume = await createVolume(ts, alice, 'alice-data');
    await waitVolume(ts, alice, aliceVolume, 'available');
    // Some bytes, so the backup has something to read and the repository something to store.
    const data = noise(8 * 1024 * 1024);
    const put = await fetch(`${ts.url}/v3/${alice.projectId}/volumes/${aliceVolume}/cinderbox-data`, {
      method: 'PUT',
      headers: { 'X-Auth-Token': alice.token, 'Content-Type': 'application/octet-stream', 'Content-Range': `bytes 0-${data.length - 1}/${1024 ** 3}` },
      body: data,
    });
    assert.equal(put.status, 200, await put.text());
    // And some that compress (log-like lines, no two 4 MiB chunks alike), so the repository stores less than it holds.
    const lines: string[] = [];
    let length = 0;
    for (let i = 0; length < 8 * 1024 * 1024; i++) {
      const line = `${String(i).padStart(8, '0')} INFO volume alice-data wrote block ${i * 7919}\n`;
      lines.push(line);
      length += line.length;
    }
    const text = Buffer.from(lines.join('')).subarray(0, 8 * 1024 * 1024);
    const put2 = await fetch(`${ts.url}/v3/${alice.projectId}/volumes/${aliceVolume}/cinderbox-data`, {
      method: 'PUT',
      headers: { 'X-Auth-Token': alice.token, 'Content-Type': 'application/octet-stream', 'Content-Range': `bytes ${data.length}-${data.length + text.length - 1}/${1024 ** 3}` },
      body: text,
    });
    assert.equal(put2.status, 200, await put2.text());
    const bobVolume = await createVolume(ts, bob, 'bob-secret');
    await waitVolume(ts, bob, bobVolume, 'available');
    const vault = await createVault(ts, alice, 'alice-vault', [aliceVolume]);
    const policy = await cbr(ts, alice, 'POST', '/policies', {
      policy: {
        name: 'nightly',
        operation_type: 'backup',
        operation_definition: { max_backups: 7 },
        trigger: { properties: { pattern: ['FREQ=DAILY;INTERVAL=1;BYHOUR=2;BYMINUTE=00'] } },
      },
    });
    assert.equal(policy.status, 200, policy.text);
    const bind = await cbr(ts, alice, 'POST', `/vaults/${vault.id}/associatepolicy`, { policy_id: policy.body.policy.id });
    assert.equal(bind.status, 200, bind.text);

    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: chromiumArgs() });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(15000);
    page = await context.newPage();
    // The page may fetch nothing but its own origin: any other request fails the suite.
    const origin = new URL(ts.url).origin;
    const foreign: string[] = [];
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith(origin) || u.startsWith('data:')) return route.continue();
      foreign.push(u);
      return route.abort();
    });
    after(() => assert.deepEqual(foreign, [], 'requests outside the server'));
  });

  after(async () => {
    await browser?.close();
    await ts?.close();
    if (consoleDir) await rm(consoleDir, { recursive: true, force: true });
    if (shots.length) console.log(`# console screenshots: ${shots.join(', ')}`);
  });

  test('the API paths and the versions document are unchanged beside /console/', async () => {
    const root = await ts.request('GET', '/');
    assert.equal(root.status, 300);
    const res = await fetch(`${ts.url}/console/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  });

  test('a wrong password is refused with the identity API\'s words, the right one signs in', async () => {
    await signIn('alice', 'not-the-password', 'alice');
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /authenticat/i);
    await shoot('sign-in-refused');
    await signIn('alice', 'alice-pw', 'alice');
    await page.getByRole('heading', { name: 'Protection' }).waitFor();
    const token = await page.evaluate('JSON.parse(sessionStorage.getItem("cinderbox.session")).token');
    assert.equal(typeof token, 'string');
    // Session storage only: nothing a script could read outlives the tab.
    assert.deepEqual(await context.cookies(), []);
  });

  test('an unprotected volume stands out, and becomes protected after a backup whose progress reaches 100 % over the event stream', async () => {
    const row = page.locator('tr[data-volume="alice-data"]');
    await row.waitFor();
    await streamOpen();
    assert.equal(await row.getAttribute('data-protected'), 'no');
    assert.equal(await page.getByTestId('count-stale').innerText(), '1');
    await shoot('overview-unprotected');

    await row.getByRole('button', { name: 'Back up' }).click();
    await confirm();
    await page.getByRole('status').filter({ hasText: 'Backup started.' }).waitFor();
    await page.getByRole('link', { name: 'Running work' }).click();
    const bar = page.locator('[data-testid="running"] li[data-backup^="console-"] progress');
    const seen = new Set<string>();
    await waitFor(async () => {
      const pct = await bar.first().getAttribute('data-pct', { timeout: 500 }).catch(() => null);
      if (pct !== null) seen.add(pct);
      return pct === '100';
    }, 'the backup\'s bar at 100 %', 60000);
    console.log(`# progress values seen: ${[...seen].join(', ')}`);
    // The bar was moved by the stream (polling would leave data-via="poll"), which carried this backup's events.
    const item = page.locator('[data-testid="running"] li[data-backup^="console-"]').first();
    assert.equal(await item.getAttribute('data-via'), 'stream');
    const backups = await ts.request('GET', `/v3/${alice.projectId}/backups/detail`, { token: alice.token });
    const id = (backups.body.backups as { id: string; name: string }[]).find((b) => b.name.startsWith('console-'))!.id;
    const rec = await streamRecord();
    assert.ok(rec.seen.includes(`backup:${id}`), `the stream delivered backup ${id}: ${rec.seen.join(' ')}`);
    assert.ok(Number(await page.locator('.shell').getAttribute('data-stream-events')) >= 2);
    // Its status change came on the stream too, and refreshed the list.
    await waitFor(async () => (await item.getAttribute('data-status')) === 'available', 'the finished backup shown as available', 20000);
    await shoot('running-work');

    await page.getByRole('link', { name: 'Protection' }).click();
    await waitFor(async () => (await row.getAttribute('data-protected')) === 'yes', 'alice-data protected', 20000);
    assert.equal(await page.getByTestId('count-stale').innerText(), '0');
    assert.equal(await page.getByTestId('count-protected').innerText(), '1');
    await shoot('overview');
  });

  test('restoring a backup into a new volume shows the new volume', async () => {
    await page.getByRole('link', { name: 'Running work' }).click();
    const backupRow = page.locator('table[data-testid="backups"] tr[data-status="available"]').first();
    await backupRow.getByRole('button', { name: 'Restore' }).click();
    await page.getByRole('textbox', { name: 'New volume name' }).fill('alice-restored');
    await page.getByRole('button', { name: 'Restore…' }).click();
    await confirm();
    await page.getByRole('link', { name: 'Protection' }).click();
    const restored = page.locator('tr[data-volume="alice-restored"]');
    await restored.waitFor({ timeout: 30000 });
    await waitFor(async () => (await restored.locator('td').nth(1).innerText()) === 'available', 'restored volume available', 60000);
  });

  test('Escape closes the confirmation and restore dialogs without doing anything', async () => {
    await page.getByRole('link', { name: 'Protection' }).click();
    const row = page.locator('tr[data-volume="alice-data"]');
    const volumes = async () => (await ts.request('GET', `/v3/${alice.projectId}/volumes/detail`, { token: alice.token })).body.volumes.length as number;
    const before = await volumes();
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    assert.equal(await volumes(), before);
    assert.equal(await row.count(), 1);

    await page.getByRole('link', { name: 'Running work' }).click();
    await page.locator('table[data-testid="backups"] tr[data-status="available"]').first().getByRole('button', { name: 'Restore' }).click();
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    assert.equal(await volumes(), before);
  });

  test('an API refusal is shown as a message in words', async () => {
    await page.getByRole('link', { name: 'Protection' }).click();
    const row = page.locator('tr[data-volume="alice-data"]');
    await row.getByRole('button', { name: 'Snapshot' }).click();
    await confirm();
    await waitFor(async () => {
      const r = await ts.request('GET', `/v3/${alice.projectId}/snapshots/detail`, { token: alice.token });
      return r.body.snapshots.some((s: { status: string }) => s.status === 'available');
    }, 'snapshot available', 30000);
    await row.getByRole('button', { name: 'Delete' }).click();
    await confirm();
    const alert = page.getByTestId('error');
    await alert.waitFor();
    assert.match(await alert.innerText(), /Invalid volume: .*have snapshots/);
    await shoot('refusal');
  });

  test('vaults show capacity, the policy in words with its next run, and a checkpoint can be taken', async () => {
    await page.getByRole('link', { name: 'Vaults & policies' }).click();
    const card = page.locator('article[data-vault="alice-vault"]');
    await card.waitFor();
    const text = await card.innerText();
    assert.match(text, /every day at 02:00 UTC, keep 7\./);
    assert.match(text, /Next run \d{4}-\d\d-\d\d 02:00 UTC/);
    await card.getByRole('button', { name: 'Checkpoint now' }).click();
    await confirm();
    await page.getByRole('status').filter({ hasText: 'Checkpoint started.' }).waitFor();
    await shoot('vaults');
  });

  test('a user with two projects switches between them and sees each one\'s volumes', async () => {
    const project = await ts.request('POST', '/identity/v3/projects', { token: ts.adminToken, body: { project: { name: 'alice-two', domain_id: 'default' } } });
    assert.equal(project.status, 201, project.text);
    const projectId = project.body.project.id as string;
    const role = await ts.request('GET', '/identity/v3/roles?name=member', { token: ts.adminToken });
    const grant = await ts.request('PUT', `/identity/v3/projects/${projectId}/users/${alice.userId}/roles/${role.body.roles[0].id}`, { token: ts.adminToken });
    assert.equal(grant.status, 204, grant.text);
    const second = await ts.request('POST', `/v3/${ts.adminProjectId}/volumes`, { token: ts.adminToken, body: { volume: { size: 1, name: 'two-vol' } } });
    assert.equal(second.status, 202, second.text);
    // The admin made it in its own project; hand it over the way Cinder does, by transfer.
    const volId = second.body.volume.id as string;
    await waitFor(async () => (await ts.request('GET', `/v3/${ts.adminProjectId}/volumes/${volId}`, { token: ts.adminToken })).body.volume.status === 'available', 'two-vol available');
    const t = await ts.request('POST', `/v3/${ts.adminProjectId}/os-volume-transfer`, { token: ts.adminToken, body: { transfer: { volume_id: volId } } });
    assert.equal(t.status, 202, t.text);
    const aliceTwo = await ts.request('POST', '/identity/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['password'], password: { user: { name: 'alice', domain: { id: 'default' }, password: 'alice-pw' } } }, scope: { project: { id: projectId } } } },
    });
    const accept = await ts.request('POST', `/v3/${projectId}/os-volume-transfer/${t.body.transfer.id}/accept`, {
      token: aliceTwo.headers.get('x-subject-token')!,
      body: { accept: { auth_key: t.body.transfer.auth_key } },
    });
    assert.equal(accept.status, 202, accept.text);

    // The switcher lists the projects it found at sign-in: reload to pick up the new grant.
    await page.goto(`${ts.url}/console/#/overview`);
    await page.reload();
    const tokenNow = async () => (await page.evaluate('JSON.parse(sessionStorage.getItem("cinderbox.session")).token')) as string;
    const validity = async (t: string) => (await ts.request('GET', '/identity/v3/auth/tokens', { token: ts.adminToken, headers: { 'X-Subject-Token': t } })).status;
    const t1 = await tokenNow();
    await page.getByRole('combobox', { name: 'Project' }).selectOption({ label: 'alice-two' });
    await page.locator('tr[data-volume="two-vol"]').waitFor();
    assert.equal(await page.locator('tr[data-volume="alice-data"]').count(), 0);
    // The switch revoked the token it came from; the new one, made from it, still works.
    const t2 = await tokenNow();
    assert.notEqual(t2, t1);
    await waitFor(async () => (await validity(t1)) === 404, 'the previous project\'s token revoked');
    assert.equal(await validity(t2), 200);
    await page.getByRole('combobox', { name: 'Project' }).selectOption({ label: 'alice' });
    await page.locator('tr[data-volume="alice-data"]').waitFor();
    assert.equal(await page.locator('tr[data-volume="two-vol"]').count(), 0);
    const t3 = await tokenNow();
    await waitFor(async () => (await validity(t2)) === 404, 'the alice-two token revoked');
    assert.equal(await validity(t3), 200);
  });

  test('at phone width the overview reads without sideways scrolling', async () => {
    await page.getByRole('link', { name: 'Protection' }).click();
    await page.getByRole('heading', { name: 'Protection' }).waitFor();
    // The README's picture: two volumes, one protected and one standing out (docs/console-overview.png).
    await shoot('overview-desktop');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('heading', { name: 'Protection' }).waitFor();
    // No sideways scrolling of the whole page at phone width (wide tables scroll inside their own box).
    const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.ok((overflow as number) <= 0, `the page scrolls sideways by ${overflow}px`);
    await shoot('phone-overview');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test('signing out revokes the token; a member of another project sees only its own volumes and no admin view', async () => {
    const token = (await page.evaluate('JSON.parse(sessionStorage.getItem("cinderbox.session")).token')) as string;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const check = await ts.request('GET', '/identity/v3/auth/tokens', { token: ts.adminToken, headers: { 'X-Subject-Token': token } });
    assert.equal(check.status, 404, check.text);
    assert.equal(await page.evaluate('sessionStorage.getItem("cinderbox.session")'), null);

    await signIn('bob', 'bob-pw', 'bob');
    await page.locator('tr[data-volume="bob-secret"]').waitFor();
    const names = await page.locator('tr[data-volume]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-volume')));
    assert.deepEqual(names, ['bob-secret']);
    assert.equal(await page.getByRole('link', { name: 'Repository' }).count(), 0);
    // Typing the address of the repository view shows no panel and asks the server nothing about the repository.
    const repoCalls: string[] = [];
    const seeRepo = (r: { url(): string }) => void (r.url().includes('cinderbox-repo') && repoCalls.push(r.url()));
    page.on('request', seeRepo);
    await page.goto(`${ts.url}/console/#/repository`);
    await page.getByText('The repository view is for administrators.').waitFor();
    assert.equal(await page.getByRole('heading', { name: 'Repository' }).count(), 0);
    page.off('request', seeRepo);
    assert.deepEqual(repoCalls, []);

    // Alice's changes never reach bob's stream: a change of alice's, then one of bob's. The stream keeps order,
    // so once bob's arrives, alice's would have arrived before it.
    await streamOpen();
    const aliceVol = await createVolume(ts, alice, 'alice-while-bob-watches');
    await waitVolume(ts, alice, aliceVol, 'available');
    const bobVol = await createVolume(ts, bob, 'bob-second');
    await waitFor(async () => (await streamRecord()).seen.includes(`volume:${bobVol}`), 'bob\'s own change on his stream');
    const rec = await streamRecord();
    assert.ok(!rec.seen.some((s) => s.endsWith(aliceVol) || s.endsWith(aliceVolume)), `bob's stream carried alice's changes: ${rec.seen.join(' ')}`);
    await page.getByRole('button', { name: 'Sign out' }).click();
  });

  test('an admin sees the repository\'s real numbers (compressible data stored smaller) and its history chart', async () => {
    await signIn('admin', ADMIN_PASSWORD, 'admin');
    await page.getByRole('link', { name: 'Repository' }).click();
    await page.getByRole('heading', { name: 'Repository' }).waitFor();
    const stats = page.getByTestId('repo-stats');
    await stats.waitFor();
    // The vault's checkpoint (an earlier test) may still be adding its backup: the page is reloaded until it shows
    // what the API says.
    let logical = 0;
    let stored = 0;
    await waitFor(async () => {
      const api = (await ts.request('GET', `/v3/${ts.adminProjectId}/cinderbox-repo/stats`, { token: ts.adminToken })).body.repository;
      logical = Number(await stats.getAttribute('data-logical'));
      stored = Number(await stats.getAttribute('data-stored'));
      if (logical === api.logical_bytes && stored === api.stored_bytes) return true;
      await page.reload();
      await stats.waitFor();
      return false;
    }, 'the page showing the API\'s repository numbers', 60000);
    assert.ok(logical >= 16 * 1024 * 1024, `logical ${logical}: alice's 16 MiB were backed up`);
    assert.ok(stored > 0 && stored < logical, `stored ${stored} < logical ${logical}`);
    assert.ok(Number(await stats.getAttribute('data-chunks')) > 0);
    assert.match(await page.getByTestId('repo-saved').innerText(), /^[1-9]\d? %$/);
    assert.match(await page.getByTestId('last-verify').innerText(), /Last verify of .*: never/);
    await page.getByTestId('repo-chart').waitFor();
    assert.ok((await page.locator('[data-testid="repo-chart"] rect.tp').count()) >= 1, 'a throughput bar for the backup');
  });

  test('a verify started from the button runs as a job whose bar reaches 100 % and whose result is shown', async () => {
    await streamOpen();
    const before = (await streamRecord()).received;
    await page.getByRole('button', { name: 'Verify repository' }).click();
    const job = page.locator('[data-testid="repo-jobs"] li[data-job="verify"]').first();
    await job.waitFor();
    await waitFor(async () => (await job.getAttribute('data-status')) !== 'running', 'the verify job finished', 60000);
    assert.equal(await job.getAttribute('data-status'), 'succeeded');
    assert.equal(await job.locator('progress').getAttribute('data-pct'), '100');
    assert.match(await job.locator('.job-result').innerText(), /^Verify on \S+: ok, \d+ manifests and [1-9]\d* chunks .* checked, no problems\.$/);
    // The panel heard the job's end on the stream, and the stats now carry the verify.
    const rec = await streamRecord();
    assert.ok(rec.received > before && rec.seen.some((s) => s.startsWith('repo-job:')), `repo-job events on the stream: ${rec.seen.join(' ')}`);
    await waitFor(async () => /: ok /.test(await page.getByTestId('last-verify').innerText()), 'last verify ok');
    await shoot('repository');
  });

  test('a refused event stream is retried with backoff, and once it is back the page catches up and hears changes on it', async () => {
    // Until `refusing` is cleared, the stream is answered 503, as a proxy in front of a restarting server would.
    let refusing = true;
    let refused = 0;
    await page.route('**/cinderbox-events*', (route) => {
      if (!refusing) return route.fallback();
      refused++;
      return route.fulfill({ status: 503, headers: { 'Content-Type': 'application/json' }, body: '{}' });
    });
    try {
      await page.goto(`${ts.url}/console/#/overview`);
      await page.reload();
      await page.locator('.shell[data-stream="down"]').waitFor();
      const admin = { token: ts.adminToken, projectId: ts.adminProjectId };
      const missed = await createVolume(ts, admin, 'made-while-refused');
      await waitFor(async () => refused >= 2, 'the page trying the stream again');
      refusing = false;
      await streamOpen();
      // What the stream never carried is picked up (the reopened stream refreshes; the fallback polling would too)...
      await page.locator('tr[data-volume="made-while-refused"]').waitFor({ timeout: 30000 });
      await waitVolume(ts, admin, missed, 'available');
      // ...and the reopened stream is the real one: a later change arrives on it.
      const next = await createVolume(ts, admin, 'made-after-reconnect');
      await waitFor(async () => (await streamRecord()).seen.includes(`volume:${next}`), 'a change on the reopened stream', 30000);
      await waitVolume(ts, admin, next, 'available');
    } finally {
      await page.unroute('**/cinderbox-events*');
    }
  });

  test('the views are usable from the keyboard: Tab reaches a view link and Enter opens it', async () => {
    await page.goto(`${ts.url}/console/#/overview`);
    await page.getByRole('heading', { name: 'Protection' }).waitFor();
    await page.locator('body').focus();
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = (await page.evaluate('document.activeElement && document.activeElement.textContent')) === 'Vaults & policies';
    }
    assert.ok(reached, 'the Vaults link is reachable with Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Vaults & policies' }).waitFor();
  });
});

