#!/usr/bin/python3
"""Prints the results of the last stestr run in a Tempest workspace as JSON.

Usage: collect_results.py WORKSPACE
Output: {"<test id without [attrs]>": {"status": "success|fail|skip|...", "reason": "<traceback or skip reason>"}}
Class-level failures appear as ids such as "setUpClass (tempest.api.volume.x.Class)".
"""
import io
import json
import subprocess
import sys

import subunit
import testtools


def main():
    workspace = sys.argv[1]
    stream = subprocess.run(['/usr/bin/stestr', 'last', '--subunit'], cwd=workspace,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False).stdout
    results = {}

    def on_test(test):
        tid = test['id'].split('[', 1)[0]
        reason = ''
        for name in ('traceback', 'reason'):
            detail = test['details'].get(name)
            if detail is not None:
                reason = detail.as_text()
                break
        prev = results.get(tid)
        # A test id is reported once per run; keep the worst outcome if a worker retried it.
        if prev is None or prev['status'] == 'success':
            results[tid] = {'status': test['status'], 'reason': reason}

    case = subunit.ByteStreamToStreamResult(io.BytesIO(stream), non_subunit_name='stdout')
    result = testtools.StreamToDict(on_test)
    result.startTestRun()
    try:
        case.run(result)
    finally:
        result.stopTestRun()
    json.dump(results, sys.stdout, indent=1, sort_keys=True)


if __name__ == '__main__':
    main()
