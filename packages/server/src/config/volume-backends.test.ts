/** How CINDERBOX_VOLUME_BACKENDS spells backends, the rbd form with its pool and cluster access included. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { chooseBackends, parseRbdSpec } from './volume-backends.js';

it('reads name:rbd:pool with conf, id, keyring, secret_uuid and chunk_size next to file backends', () => {
  const c = chooseBackends({
    CINDERBOX_VOLUME_BACKENDS: 'ceph:rbd:volumes?conf=/etc/ceph/ceph.conf&id=cinder&keyring=/etc/ceph/k&secret_uuid=abc&chunk_size=8,local:raw',
  });
  assert.deepEqual(c.backends, [
    {
      name: 'ceph',
      driver: 'rbd',
      pool: 'ceph',
      rbd: { pool: 'volumes', conf: '/etc/ceph/ceph.conf', id: 'cinder', keyring: '/etc/ceph/k', secretUuid: 'abc', objectSize: 8 * 1024 * 1024 },
    },
    { name: 'local', driver: 'raw', pool: 'local' },
  ]);
  assert.deepEqual(parseRbdSpec('rbd'), { pool: 'rbd' });
});

it('refuses an rbd backend without a pool, with a bad pool name or an unknown option, saying why', () => {
  for (const [spec, why] of [
    ['ceph:rbd', /name:rbd:pool/],
    ['ceph:rbd:', /invalid pool name/],
    ['ceph:rbd:a/b', /invalid pool name/],
    ['ceph:rbd:vols?user=x', /unknown option "user"/],
    ['ceph:rbd:vols?id=', /empty id/],
    ['ceph:rbd:vols?chunk_size=3', /chunk_size/],
    ['ceph:raw:extra', /name:driver/],
  ] as const) {
    assert.throws(() => chooseBackends({ CINDERBOX_VOLUME_BACKENDS: spec }), why, spec);
  }
});
