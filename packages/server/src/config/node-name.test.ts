import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from './config.js';

const base = { CINDERBOX_VOLUME_DRIVER: 'raw' };

test('the node name comes from --node-name, then CINDERBOX_NODE_NAME, then the older CINDERBOX_SERVICE_HOST, else cinderbox', () => {
  assert.equal(loadConfig({}, base).serviceHost, 'cinderbox');
  assert.equal(loadConfig({}, { ...base, CINDERBOX_SERVICE_HOST: 'old' }).serviceHost, 'old');
  assert.equal(loadConfig({}, { ...base, CINDERBOX_SERVICE_HOST: 'old', CINDERBOX_NODE_NAME: 'node2' }).serviceHost, 'node2');
  assert.equal(loadConfig({ nodeName: 'flag' }, { ...base, CINDERBOX_NODE_NAME: 'node2' }).serviceHost, 'flag');
});

test('a node name that would break host@backend#pool is refused, saying what is allowed', () => {
  for (const bad of ['a@b', 'a#b', 'a/b', 'a b', '-x']) {
    assert.throws(() => loadConfig({ nodeName: bad }, base), /node name .* is not valid: use letters, digits/);
  }
});

test('heartbeat and down times: Cinder defaults, settable, and a down time under two heartbeats is refused', () => {
  const d = loadConfig({}, base);
  assert.deepEqual([d.serviceReportSeconds, d.serviceDownSeconds], [10, 60]);
  const t = loadConfig({}, { ...base, CINDERBOX_SERVICE_REPORT_SECONDS: '1', CINDERBOX_SERVICE_DOWN_SECONDS: '4' });
  assert.deepEqual([t.serviceReportSeconds, t.serviceDownSeconds], [1, 4]);
  assert.throws(() => loadConfig({}, { ...base, CINDERBOX_SERVICE_DOWN_SECONDS: '15' }), /must be at least twice CINDERBOX_SERVICE_REPORT_SECONDS/);
});

test('tasks are polled every second on PostgreSQL (other nodes enqueue work for this one), every 5 s on SQLite', () => {
  assert.equal(loadConfig({}, base).taskPollMs, 5000);
  assert.equal(loadConfig({}, { ...base, CINDERBOX_DATABASE_URL: 'postgres://u:p@h/db' }).taskPollMs, 1000);
  assert.equal(loadConfig({}, { ...base, CINDERBOX_TASK_POLL_MS: '200' }).taskPollMs, 200);
});
