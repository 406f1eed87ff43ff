import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { backupKeyFromEnv, loadConfig, parseBackupKey } from './config.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cinderbox-key-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

test('a backup key is 32 bytes as 64 hex digits or base64 (standard or url-safe), whitespace ignored', () => {
  const key = randomBytes(32);
  assert.ok(parseBackupKey(key.toString('hex'), 'X').equals(key));
  assert.ok(parseBackupKey(` ${key.toString('hex').toUpperCase()}\n`, 'X').equals(key));
  assert.ok(parseBackupKey(key.toString('base64'), 'X').equals(key));
  assert.ok(parseBackupKey(key.toString('base64url'), 'X').equals(key));
});

test('a malformed backup key is refused with a one-line message naming the setting and the format', () => {
  for (const bad of ['', 'secret', randomBytes(16).toString('hex'), randomBytes(31).toString('base64'), `${'g'.repeat(64)}`]) {
    assert.throws(
      () => parseBackupKey(bad, 'CINDERBOX_BACKUP_KEY'),
      (e: Error) => /^CINDERBOX_BACKUP_KEY must hold a backup repository key of 32 bytes/.test(e.message) && !e.message.includes('\n'),
      JSON.stringify(bad),
    );
  }
});

test('the key comes from CINDERBOX_BACKUP_KEY or CINDERBOX_BACKUP_KEY_FILE, never both; none means a plain repository', async () => {
  const key = randomBytes(32);
  const file = join(dir, 'key');
  await writeFile(file, `${key.toString('hex')}\n`, { mode: 0o600 });
  assert.equal(backupKeyFromEnv({}), null);
  assert.equal(loadConfig({ dataDir: dir }, {}).backupKey, null);
  assert.ok(backupKeyFromEnv({ CINDERBOX_BACKUP_KEY: key.toString('base64') })?.equals(key));
  assert.ok(loadConfig({ dataDir: dir }, { CINDERBOX_BACKUP_KEY_FILE: file }).backupKey?.equals(key));
  assert.throws(
    () => backupKeyFromEnv({ CINDERBOX_BACKUP_KEY: key.toString('hex'), CINDERBOX_BACKUP_KEY_FILE: file }),
    /set only one of CINDERBOX_BACKUP_KEY and CINDERBOX_BACKUP_KEY_FILE/,
  );
  assert.throws(
    () => backupKeyFromEnv({ CINDERBOX_BACKUP_KEY_FILE: join(dir, 'absent') }),
    /^Error: CINDERBOX_BACKUP_KEY_FILE: cannot read .*absent \(ENOENT\)$/,
  );
  await writeFile(join(dir, 'short'), 'abc');
  assert.throws(
    () => backupKeyFromEnv({ CINDERBOX_BACKUP_KEY_FILE: join(dir, 'short') }),
    /CINDERBOX_BACKUP_KEY_FILE \(.*short\) must hold a backup repository key/,
  );
});
