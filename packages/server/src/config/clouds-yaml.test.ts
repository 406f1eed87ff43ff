import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { writeCloudsYaml } from './clouds-yaml.js';

const HARD = 'p"a\\ss: #word\n\t{x}\u00e9 \'q\' - [1]';

test('clouds.yaml is YAML a parser reads back as written, and a restart keeps the password', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cbx-clouds-'));
  try {
    const input = { authUrl: 'http://127.0.0.1:1/identity/v3', region: 'Region: "One"', adminPassword: HARD };
    const path = await writeCloudsYaml(dir, input);
    const doc = parse(await readFile(path, 'utf8'));
    assert.equal(doc.clouds.cinderbox.auth.password, HARD);
    assert.equal(doc.clouds.cinderbox.region_name, 'Region: "One"');
    assert.equal(doc.clouds.cinderbox.identity_api_version, 3);
    assert.equal(doc.clouds.cinderbox.has_image, false);
    await writeCloudsYaml(dir, { ...input, adminPassword: null });
    assert.equal(parse(await readFile(path, 'utf8')).clouds.cinderbox.auth.password, HARD);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('passwords YAML would read as another type or another string round-trip: plain only when it reads back the same', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cbx-clouds-'));
  try {
    for (const pw of ['Xy3_kP9-qL2mN8vR', 'true', 'no', '12345', '0x1F', 'a: b', 'ends:', 'hash #x', '-dash', '~', 'null', "it's"]) {
      const input = { authUrl: 'http://127.0.0.1:1/identity/v3', region: 'RegionOne', adminPassword: pw };
      const path = await writeCloudsYaml(dir, input);
      assert.equal(parse(await readFile(path, 'utf8')).clouds.cinderbox.auth.password, pw, pw);
      await writeCloudsYaml(dir, { ...input, adminPassword: null });
      assert.equal(parse(await readFile(path, 'utf8')).clouds.cinderbox.auth.password, pw, `${pw} after a restart`);
    }
    // URLs stay unquoted (people read this file).
    assert.match(await readFile(join(dir, 'clouds.yaml'), 'utf8'), /^ {6}auth_url: http:\/\/127\.0\.0\.1:1\/identity\/v3$/m);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a clouds.yaml edited into another shape is still read for the password', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cbx-clouds-'));
  try {
    const path = join(dir, 'clouds.yaml');
    // Another cloud first, whose password sits at the depth the fast path reads: it must not be taken.
    await writeFile(path, "clouds:\n  other:\n    auth:\n      password: \"theirs\"\n  cinderbox: {auth: {password: 'mine'}}\n");
    await writeCloudsYaml(dir, { authUrl: 'http://h/identity/v3', region: 'RegionOne', adminPassword: null });
    assert.equal(parse(await readFile(path, 'utf8')).clouds.cinderbox.auth.password, 'mine');
    // Ours without a password (none was known) followed by an appended cloud: no password is borrowed from it.
    await writeFile(path, 'clouds:\n  cinderbox:\n    auth:\n      username: "admin"\n  other:\n    auth:\n      password: "theirs"\n');
    await writeCloudsYaml(dir, { authUrl: 'http://h/identity/v3', region: 'RegionOne', adminPassword: null });
    assert.equal(parse(await readFile(path, 'utf8')).clouds.cinderbox.auth.password, undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
