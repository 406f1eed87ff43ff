#!/usr/bin/python3
"""Drives openstacksdk 0.101's block_storage v3 proxy through the backup lifecycle against a live server.

Run by backups.test.ts with OS_CLIENT_CONFIG_FILE set. The test fills the source volume beforehand; this script
prints "RESTORED <label> <volume id>" for every volume it restores into, and the test compares those volumes'
bytes with the source. One line per step ("ok <step>" or "FAIL <step>: <why>"); exits 1 when any step failed.
"""
import argparse
import sys

import openstack
from openstack import exceptions

from client_steps import expect, finish, step


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--cloud', required=True)
    p.add_argument('--admin-cloud', required=True)
    p.add_argument('--volume-id', required=True, help='a filled, available 1 GiB volume of the member')
    args = p.parse_args()

    bs = openstack.connect(cloud=args.cloud).block_storage
    admin = openstack.connect(cloud=args.admin_cloud).block_storage
    state = {}
    W = dict(interval=0.2, wait=60)

    def restored(label, volume):
        v = bs.wait_for_status(volume, 'available', failures=['error', 'error_restoring'], **W)
        print('RESTORED %s %s' % (label, v.id), flush=True)

    @step('create_backup (full) + wait_for_status available')
    def _():
        b = bs.create_backup(volume_id=args.volume_id, name='sdk-full', description='from the sdk')
        expect(b.id, 'no id in the create response')
        expect(b.name == 'sdk-full', 'name %r' % b.name)
        b = bs.wait_for_status(b, 'available', failures=['error'], **W)
        expect(b.volume_id == args.volume_id, 'volume_id %r' % b.volume_id)
        expect(b.size == 1, 'size %r' % b.size)
        expect(b.is_incremental is False, 'is_incremental %r' % b.is_incremental)
        expect(b.description == 'from the sdk', 'description %r' % b.description)
        state['full'] = b

    if 'full' not in state:
        return finish()

    @step('create_backup (is_incremental) + wait_for_status available')
    def _():
        b = bs.create_backup(volume_id=args.volume_id, name='sdk-inc', is_incremental=True)
        b = bs.wait_for_status(b, 'available', failures=['error'], **W)
        expect(b.is_incremental is True, 'is_incremental %r' % b.is_incremental)
        state['inc'] = b

    @step('backups(details=True), backups(details=False), find_backup, get_backup')
    def _():
        detailed = {b.name: b for b in bs.backups(details=True)}
        expect(sorted(detailed) == ['sdk-full', 'sdk-inc'], 'names %r' % sorted(detailed))
        full = detailed['sdk-full']
        expect(full.status == 'available' and full.container, 'detail %r' % full.to_dict())
        expect(full.has_dependent_backups is True, 'has_dependent_backups %r' % full.has_dependent_backups)
        expect(full.created_at and full.object_count and full.object_count > 0, 'detail %r' % full.to_dict())
        short = list(bs.backups(details=False))
        expect(len(short) == 2 and short[0].status is None, 'summary list %r' % [b.to_dict() for b in short])
        by_filter = [b.id for b in bs.backups(name='sdk-inc')]
        expect(by_filter == [state['inc'].id], 'name filter %r' % by_filter)
        expect(bs.find_backup('sdk-full').id == full.id, 'find_backup')
        expect(bs.get_backup(full.id).name == 'sdk-full', 'get_backup')

    @step('delete_backup of a backup with an incremental is refused')
    def _():
        try:
            bs.delete_backup(state['full'])
        except exceptions.BadRequestException as e:
            expect('incremental' in str(e).lower() or 'dependent' in str(e).lower(), 'message %s' % e)
        else:
            raise AssertionError('delete of a backup with dependants succeeded')

    @step('restore_backup to a new volume by name')
    def _():
        bs.restore_backup(state['full'], name='sdk-restored-new')
        bs.wait_for_status(bs.get_backup(state['full'].id), 'available', failures=['error'], **W)
        vols = list(bs.volumes(name='sdk-restored-new'))
        expect(len(vols) == 1, 'volumes named sdk-restored-new: %r' % [v.id for v in vols])
        restored('full-new', vols[0])

    @step('restore_backup (incremental) into an existing volume')
    def _():
        target = bs.create_volume(size=1, name='sdk-target')
        target = bs.wait_for_status(target, 'available', failures=['error'], **W)
        bs.restore_backup(state['inc'], volume_id=target.id)
        bs.wait_for_status(bs.get_backup(state['inc'].id), 'available', failures=['error'], **W)
        restored('inc-existing', target)

    @step('reset_backup needs admin; admin resets to error')
    def _():
        try:
            bs.reset_backup(state['inc'], 'error')
        except exceptions.HttpException as e:
            expect(e.status_code == 403, 'status %r: %s' % (e.status_code, e))
        else:
            raise AssertionError('a member reset a backup status')
        admin.reset_backup(state['inc'].id, 'error')
        b = bs.wait_for_status(bs.get_backup(state['inc'].id), 'error', **W)
        expect(b.status == 'error', 'status %r' % b.status)

    @step('delete_backup(force=True) as admin; then delete_backup of the full one')
    def _():
        try:
            bs.delete_backup(state['inc'], force=True)
        except exceptions.HttpException as e:
            expect(e.status_code == 403, 'status %r: %s' % (e.status_code, e))
        else:
            raise AssertionError('a member force-deleted a backup')
        admin.delete_backup(state['inc'].id, force=True)
        bs.wait_for_delete(state['inc'], interval=0.2, wait=60)
        bs.delete_backup(state['full'])
        bs.wait_for_delete(state['full'], interval=0.2, wait=60)
        expect(list(bs.backups()) == [], 'backups left')
        expect(bs.delete_backup(state['full'].id) is None, 'ignore_missing')

    return finish()


if __name__ == '__main__':
    sys.exit(main())
