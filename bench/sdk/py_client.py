"""openstacksdk side of bench/sdk: list every snapshot in pages, then fetch `n` of them by id, `rounds` times
each (the best round counts: the machine is shared).

argv: server URL, admin password, n, rounds. Prints one JSON line: list_ms, get_ms, listed, max_rss_kb.
"""
import json
import resource
import sys
import time

import openstack

url, password, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
conn = openstack.connect(
    auth_url=f"{url}/identity/v3", username="admin", password=password, project_name="admin",
    user_domain_name="Default", project_domain_name="Default", block_storage_api_version="3",
)
bs = conn.block_storage
bs.get_limits()  # authenticate and discover outside the timings

list_ms = get_ms = float("inf")
ids = []
for _ in range(rounds):
    t0 = time.perf_counter()
    ids = [s.id for s in bs.snapshots(details=True, limit=1000)]
    t1 = time.perf_counter()
    for i in ids[:n]:
        bs.get_snapshot(i)
    t2 = time.perf_counter()
    list_ms = min(list_ms, (t1 - t0) * 1000)
    get_ms = min(get_ms, (t2 - t1) * 1000)
print(json.dumps({
    "list_ms": list_ms, "get_ms": get_ms, "listed": len(ids),
    "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
