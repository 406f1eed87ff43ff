"""The scripted operations openstacksdk 0.101 lacks, done with Debian's python-cinderclient 9.1 through the
recording proxy: snapshot and volume unmanage/manage, backup update, export of a backup record and its import as a copy under a new id.

argv: proxy URL, admin password, JSON {volume, snapshot, volume2, host, backup}. The proxy records only between
/__conformance/resume and /__conformance/pause, so authentication and the waits stay out of the comparison. Keep
the steps in the order of the TypeScript side (cinderclient-conformance.test.ts).
"""
import base64
import json
import sys
import time
import urllib.request
import uuid

from cinderclient import client as cinder_client
from cinderclient import exceptions
from keystoneauth1 import session
from keystoneauth1.identity import v3

url, password, ids = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])


def mark(what):
    urllib.request.urlopen(f"{url}/__conformance/{what}").read()


def wait_for(check, what):
    deadline = time.time() + 60
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def gone(get, obj_id):
    def check():
        try:
            get(obj_id)
            return False
        except exceptions.NotFound:
            return True
    return check


def status_is(get, obj_id, status):
    return lambda: get(obj_id).status == status


auth = v3.Password(
    auth_url=f"{url}/identity/v3", username="admin", password=password, project_name="admin",
    user_domain_name="Default", project_domain_name="Default",
)
cs = cinder_client.Client("3.9", session=session.Session(auth=auth))
cs.volumes.get(ids["volume"])  # authenticate and read the catalog before recording

mark("resume")
cs.volume_snapshots.unmanage(ids["snapshot"])
mark("pause")
wait_for(gone(cs.volume_snapshots.get, ids["snapshot"]), "snapshot unmanaged")
mark("resume")
snap = cs.volume_snapshots.manage(ids["volume"], {"source-name": f"_snapshot-{ids['snapshot']}"}, name="m-snap")
mark("pause")
wait_for(status_is(cs.volume_snapshots.get, snap.id, "available"), "snapshot managed")
mark("resume")
cs.volumes.unmanage(ids["volume2"])
mark("pause")
wait_for(gone(cs.volumes.get, ids["volume2"]), "volume unmanaged")
mark("resume")
vol = cs.volumes.manage(ids["host"], {"source-name": f"volume-{ids['volume2']}"}, name="m-vol")
mark("pause")
wait_for(status_is(cs.volumes.get, vol.id, "available"), "volume managed")
mark("resume")
cs.backups.update(ids["backup"], name="renamed", description="after")
record = cs.backups.export_record(ids["backup"])
# Imported as a copy under a new id (the original stays; its data is shared), as in another deployment.
row = json.loads(base64.b64decode(record["backup_url"]))
row["id"] = str(uuid.uuid4())
copy_url = base64.b64encode(json.dumps(row).encode()).decode()
cs.backups.import_record(record["backup_service"], copy_url)
mark("pause")
