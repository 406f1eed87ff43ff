"""The scripted operations, done with Debian's openstacksdk 0.101 through the recording proxy.

argv: proxy URL, admin password. The proxy records only between /__conformance/resume and /__conformance/pause,
so authentication, discovery and the waits between steps stay out of the comparison. Keep the order of the steps
identical to the TypeScript side (conformance.test.ts).
"""
import sys
import urllib.request

import openstack

url, password = sys.argv[1], sys.argv[2]


def mark(what):
    urllib.request.urlopen(f"{url}/__conformance/{what}").read()


conn = openstack.connect(
    auth_url=f"{url}/identity/v3",
    username="admin",
    password=password,
    project_name="admin",
    user_domain_name="Default",
    project_domain_name="Default",
    block_storage_api_version="3",
    block_storage_default_microversion="3.0",
)
bs = conn.block_storage
bs.get_limits()  # authenticate and discover before recording
wait = dict(interval=0.05, wait=30)

mark("resume")
vol = bs.create_volume(size=1, name="conf-vol", description="conformance")
mark("pause")
vol = bs.wait_for_status(vol, **wait)
mark("resume")
bs.get_volume(vol.id)
list(bs.volumes(details=True, name="conf-vol"))
snap = bs.create_snapshot(volume_id=vol.id, name="conf-snap", description="d", metadata={"k": "v"})
mark("pause")
snap = bs.wait_for_status(snap, **wait)
mark("resume")
bs.get_snapshot(snap.id)
list(bs.snapshots(details=True, volume_id=vol.id))
list(bs.snapshots(details=False, limit=1))
bs.find_snapshot("conf-snap")
bs.update_snapshot(snap, description="changed")
bs.set_snapshot_metadata(snap, a="1", b="2")
bs.get_snapshot_metadata(snap)
bs.delete_snapshot_metadata(snap, keys=["a"])
bs.reset_snapshot(snap, "available")
bs.get_limits()
bs.get_quota_set(conn.current_project_id)
list(bs.availability_zones())
list(bs.types())
bs.delete_snapshot(snap, force=True)
mark("pause")
bs.wait_for_delete(snap, **wait)
mark("resume")
bs.extend_volume(vol, 2)
mark("pause")
vol = bs.wait_for_status(bs.get_volume(vol.id), **wait)
mark("resume")
bs.delete_volume(vol)
mark("pause")
