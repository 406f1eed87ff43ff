#!/usr/bin/python3
"""Drives openstacksdk's block_storage v3 volume-type methods (as an admin) against a live server.

Run by sdk-types.test.ts with OS_CLIENT_CONFIG_FILE set. Prints one line per step ("ok <step>" or
"FAIL <step>: <why>"), and exits 1 when any step failed.
"""
import argparse
import sys

import openstack

from client_steps import expect, finish, step


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--cloud', required=True)
    p.add_argument('--project-id', required=True)
    args = p.parse_args()

    bs = openstack.connect(cloud=args.cloud).block_storage
    state = {}

    @step('create_type with extra specs')
    def _():
        t = bs.create_type(name='sdk-gold', description='fast', extra_specs={'tier': 'gold'})
        expect(t.id and t.name == 'sdk-gold', 'created %r' % t)
        state['t'] = t

    if 't' not in state:
        return finish()
    t = state['t']

    @step('get_type / find_type / types')
    def _():
        expect(bs.get_type(t.id).description == 'fast', 'description')
        expect(bs.find_type('sdk-gold').id == t.id, 'find by name')
        expect(t.id in [x.id for x in bs.types()], 'listed')

    @step('update_type')
    def _():
        bs.update_type(t, description='faster')
        expect(bs.get_type(t.id).description == 'faster', 'description not updated')

    @step('update_type_extra_specs / delete_type_extra_specs')
    def _():
        bs.update_type_extra_specs(t, color='red')
        specs = bs.get_type(t.id).extra_specs
        expect(specs == {'tier': 'gold', 'color': 'red'}, 'specs %r' % specs)
        bs.delete_type_extra_specs(t, ['tier'])
        specs = bs.get_type(t.id).extra_specs
        expect(specs == {'color': 'red'}, 'specs %r' % specs)

    @step('private type: add_type_access / get_type_access / remove_type_access')
    def _():
        pt = bs.create_type(name='sdk-private', is_public=False)
        bs.add_type_access(pt, args.project_id)
        access = bs.get_type_access(pt)
        expect([a['project_id'] for a in access] == [args.project_id], 'access %r' % access)
        bs.remove_type_access(pt, args.project_id)
        expect(bs.get_type_access(pt) == [], 'access not removed')
        bs.delete_type(pt)

    @step('type encryption: create / get / update / delete')
    def _():
        e = bs.create_type_encryption(t, provider='luks', control_location='front-end', cipher='aes-xts-plain64', key_size=256)
        expect(e.encryption_id, 'no encryption_id in %r' % e)
        got = bs.get_type_encryption(t.id)
        expect(got.provider == 'luks' and got.key_size == 256, 'got %r' % got)
        # 0.101's volume_type= path looks the spec up with a misnamed URI key: hand it the spec instead.
        bs.update_type_encryption(encryption=got, key_size=512)
        got = bs.get_type_encryption(t.id)
        expect(got.key_size == 512, 'key_size not updated')
        bs.delete_type_encryption(encryption=got, ignore_missing=False)
        expect(not bs.get_type_encryption(t.id).provider, 'encryption still there')

    @step('delete_type')
    def _():
        bs.delete_type(t, ignore_missing=False)
        expect(bs.find_type('sdk-gold') is None, 'still found')

    return finish()


if __name__ == '__main__':
    sys.exit(main())
