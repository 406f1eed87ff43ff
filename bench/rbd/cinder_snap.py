"""Times what Cinder's RBD driver does for one snapshot create (cinder/volume/drivers/rbd.py, RBDDriver.create_snapshot):
a fresh cluster connection (RBDVolumeProxy connects per call), open the volume's image, create the snapshot (a
self-managed snapshot id from the monitor), protect it, close and disconnect. Python librbd bindings, the same ones
Cinder uses (Debian python3-rbd). Prints one JSON object: per-run milliseconds, total and the create_snap part.

    python3 cinder_snap.py CONF POOL IMAGE RUNS [IDLE_SECONDS]
"""
import json
import sys
import time

import rados
import rbd

conf, pool, image, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
idle = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
total, create = [], []
for i in range(runs):
    if idle:
        time.sleep(idle)
    name = 'cinder-bench-%d' % i
    t0 = time.perf_counter()
    cluster = rados.Rados(conffile=conf)
    cluster.connect()
    ioctx = cluster.open_ioctx(pool)
    img = rbd.Image(ioctx, image)
    t1 = time.perf_counter()
    img.create_snap(name)
    t2 = time.perf_counter()
    img.protect_snap(name)
    img.close()
    ioctx.close()
    cluster.shutdown()
    t3 = time.perf_counter()
    total.append((t3 - t0) * 1000)
    create.append((t2 - t1) * 1000)
    # Cleanup, untimed.
    cluster = rados.Rados(conffile=conf)
    cluster.connect()
    ioctx = cluster.open_ioctx(pool)
    img = rbd.Image(ioctx, image)
    img.unprotect_snap(name)
    img.remove_snap(name)
    img.close()
    ioctx.close()
    cluster.shutdown()
print(json.dumps({'total_ms': total, 'create_snap_ms': create}))
