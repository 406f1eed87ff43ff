"""openstacksdk side of bench/sdk: one round of measurements in a fresh process (auth and discovery outside the
timings).

argv: server URL, admin password, gets. Prints one JSON line: list/get wall ms and this process's CPU ms over
the same spans, listed, max_rss_kb.
"""
import json
import resource
import sys
import time

import openstack

url, password, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
warm = int(sys.argv[4]) if len(sys.argv) > 4 else 0  # untimed gets before the warm row (same N as the TS client)
conn = openstack.connect(
    auth_url=f"{url}/identity/v3", username="admin", password=password, project_name="admin",
    user_domain_name="Default", project_domain_name="Default", block_storage_api_version="3",
)
bs = conn.block_storage
bs.get_limits()  # authenticate and discover outside the timings

out = {}


def measure(name, f):
    c0, t0 = time.process_time(), time.perf_counter()
    r = f()
    out[name + "_ms"] = (time.perf_counter() - t0) * 1000
    out[name + "_cpu_ms"] = (time.process_time() - c0) * 1000
    return r


# Default paging, as a user would write it (the server's page size, following its links).
ids = measure("list", lambda: [s.id for s in bs.snapshots(details=True)])
some = ids[:n]
for i in some[:100]:  # same untimed warm-up as the TS client
    bs.get_snapshot(i)
measure("get", lambda: [bs.get_snapshot(i) for i in some])
if warm > 0:
    for k in range(warm):
        bs.get_snapshot(some[k % len(some)])
    measure("get_warm", lambda: [bs.get_snapshot(i) for i in some])
out["listed"] = len(ids)
out["max_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(out))
