#!/usr/bin/python3
"""Drives openstacksdk's block_storage proxy (v3 or v2) through the snapshot lifecycle against a live server.

Run by sdk-snapshots.test.ts with OS_CLIENT_CONFIG_FILE set. Prints one line per step ("ok <step>" or
"FAIL <step>: <why>"), and exits 1 when any step failed.
"""
import argparse
import sys
import uuid

import openstack
from openstack import exceptions

from client_steps import expect, finish, step


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--cloud', required=True)
    p.add_argument('--admin-cloud')
    p.add_argument('--api-version', choices=['2', '3'], required=True)
    args = p.parse_args()

    conn = openstack.connect(cloud=args.cloud)
    bs = conn.block_storage
    state = {}
    W = dict(interval=0.2, wait=30)

    @step('proxy is block_storage v%s' % args.api_version)
    def _():
        mod = type(bs).__module__
        expect(mod == 'openstack.block_storage.v%s._proxy' % args.api_version, 'proxy module is %s' % mod)
        endpoint = bs.get_endpoint()
        expect('/v%s/' % args.api_version in endpoint + '/', 'endpoint %s' % endpoint)
        if args.api_version == '2':
            # 0.101's v2 proxy has no update_snapshot: the v2 part of this script cannot rename.
            expect(not hasattr(bs, 'update_snapshot'), 'v2 proxy unexpectedly has update_snapshot')

    @step('create_volume + wait_for_status available')
    def _():
        vol = bs.create_volume(size=1, name='sdk-vol-v%s' % args.api_version)
        expect(vol.id, 'no id in create response')
        state['vol'] = bs.wait_for_status(vol, 'available', failures=['error'], **W)

    if 'vol' not in state:
        return finish()
    vol = state['vol']

    @step('create_snapshot + wait_for_status available')
    def _():
        s = bs.create_snapshot(volume_id=vol.id, name='sdk-snap', description='from the sdk',
                               metadata={'a': '1'})
        expect(s.status in ('creating', 'available'), 'create status %r' % s.status)
        expect(s.volume_id == vol.id, 'volume_id %r' % s.volume_id)
        expect(s.size == 1, 'size %r' % s.size)
        expect(s.metadata == {'a': '1'}, 'metadata %r' % s.metadata)
        state['snap'] = bs.wait_for_status(s, 'available', failures=['error'], **W)

    if 'snap' not in state:
        return finish()
    snap = state['snap']

    @step('get_snapshot shows the extended attributes')
    def _():
        s = bs.get_snapshot(snap.id)
        expect(s.name == 'sdk-snap', 'name %r' % s.name)
        expect(s.description == 'from the sdk', 'description %r' % s.description)
        expect(s.created_at, 'no created_at')
        if args.api_version == '3':
            # The v2 Snapshot resource of 0.101 does not map the os-extended-snapshot-attributes.
            expect(s.progress == '100%', 'progress %r' % s.progress)
            expect(s.project_id == conn.current_project_id, 'project_id %r vs %r' % (s.project_id, conn.current_project_id))

    @step('snapshots(details=True) and details=False, with filters')
    def _():
        detailed = list(bs.snapshots(details=True))
        expect([x.id for x in detailed] == [snap.id], 'detail ids %r' % [x.id for x in detailed])
        summary = list(bs.snapshots(details=False))
        expect([x.id for x in summary] == [snap.id], 'summary ids %r' % [x.id for x in summary])
        if args.api_version == '3':
            expect(detailed[0].progress == '100%', 'detail progress %r' % detailed[0].progress)
            expect(summary[0].progress is None, 'summary has progress %r' % summary[0].progress)
        expect(summary[0].status == 'available', 'summary status %r' % summary[0].status)
        by_name = [x.id for x in bs.snapshots(name='sdk-snap')]
        expect(by_name == [snap.id], 'name filter %r' % by_name)
        expect(list(bs.snapshots(name='nope')) == [], 'name filter matched a wrong name')
        expect(list(bs.snapshots(status='error')) == [], 'status filter matched')
        by_vol = [x.id for x in bs.snapshots(volume_id=vol.id)]
        expect(by_vol == [snap.id], 'volume_id filter %r' % by_vol)

    if args.api_version == '3':
        @step('update_snapshot name and description')
        def _():
            u = bs.update_snapshot(snap, name='sdk-snap-2', description='renamed')
            expect(u.name == 'sdk-snap-2', 'update response name %r' % u.name)
            s = bs.get_snapshot(snap.id)
            expect((s.name, s.description) == ('sdk-snap-2', 'renamed'), 'after update %r' % ((s.name, s.description),))

        @step('find_snapshot by name and id')
        def _():
            expect(bs.find_snapshot('sdk-snap-2').id == snap.id, 'find by name')
            expect(bs.find_snapshot(snap.id).id == snap.id, 'find by id')
            expect(bs.find_snapshot('no-such-snapshot') is None, 'find of a missing name')

    @step('set_snapshot_metadata / get_snapshot_metadata / delete_snapshot_metadata')
    def _():
        r = bs.set_snapshot_metadata(snap, b='2', c='3')
        # 0.101's MetadataMixin.set_metadata stores the items it sent, not the server's merged answer.
        expect(r.metadata == {'b': '2', 'c': '3'}, 'set returned %r' % r.metadata)
        g = bs.get_snapshot_metadata(snap)
        expect(g.metadata == {'a': '1', 'b': '2', 'c': '3'}, 'get returned %r' % g.metadata)
        bs.delete_snapshot_metadata(snap, keys=['a'])
        expect(bs.get_snapshot_metadata(snap).metadata == {'b': '2', 'c': '3'}, 'after delete item')
        expect(bs.get_snapshot(snap.id).metadata == {'b': '2', 'c': '3'}, 'snapshot body metadata')

    @step('missing resources raise NotFound')
    def _():
        try:
            bs.get_snapshot(str(uuid.uuid4()))
            raise AssertionError('get of a random id succeeded')
        except exceptions.NotFoundException:
            pass
        try:
            bs.create_snapshot(volume_id=str(uuid.uuid4()), name='x')
            raise AssertionError('snapshot of a random volume id succeeded')
        except exceptions.NotFoundException:
            pass

    @step('delete_volume with a snapshot is refused')
    def _():
        try:
            bs.delete_volume(vol)
            raise AssertionError('volume with a snapshot was deleted')
        except exceptions.BadRequestException:
            pass

    @step('delete_snapshot + wait_for_delete')
    def _():
        bs.delete_snapshot(snap)
        bs.wait_for_delete(snap, **W)
        expect(list(bs.snapshots()) == [], 'snapshot still listed')

    if args.admin_cloud and args.api_version == '3':
        admin = openstack.connect(cloud=args.admin_cloud).block_storage

        @step('admin reset_snapshot + delete_snapshot(force=True)')
        def _():
            s = bs.wait_for_status(bs.create_snapshot(volume_id=vol.id, name='sdk-forced'), 'available',
                                   failures=['error'], **W)
            admin.reset_snapshot(s.id, 'error')
            bs.wait_for_status(s, 'error', failures=[], **W)
            try:
                bs.delete_snapshot(s, force=True)
                raise AssertionError('a member force-deleted')
            except exceptions.HttpException as e:
                expect(e.status_code == 403, 'member force delete: %s' % e)
            admin.delete_snapshot(s.id, force=True)
            bs.wait_for_delete(s, **W)

    @step('delete_volume + wait_for_delete')
    def _():
        bs.delete_volume(vol)
        bs.wait_for_delete(vol, **W)

    return finish()


if __name__ == '__main__':
    sys.exit(main())
