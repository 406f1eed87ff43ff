"""Step runner shared by the openstacksdk client scripts: each step prints "ok <step>" or "FAIL <step>: <why>"
(with the failing line), a failed step never stops the ones after it, and finish() gives the exit code."""
import traceback

failures = []


def step(name):
    """Runs the decorated function at once and records a failure with its reason; never raises."""
    def run(fn):
        try:
            fn()
            print("ok %s" % name, flush=True)
            return True
        except Exception as e:  # noqa: BLE001 - report everything
            detail = ''.join(traceback.format_exception_only(type(e), e)).strip()
            tb = traceback.extract_tb(e.__traceback__)
            where = ' (at %s:%d)' % (tb[-1].filename.split('/')[-1], tb[-1].lineno) if tb else ''
            failures.append(name)
            print("FAIL %s: %s%s" % (name, detail, where), flush=True)
            return False
    return run


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def finish():
    """Prints the summary line and returns the exit code: 1 when any step failed."""
    if failures:
        print('%d step(s) failed: %s' % (len(failures), ', '.join(failures)), flush=True)
        return 1
    print('all steps passed', flush=True)
    return 0
