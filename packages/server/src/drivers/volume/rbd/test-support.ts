/**
 * A throwaway Ceph pool for the RBD tests: found through CINDERBOX_TEST_RBD_CONF (or the CI cluster's
 * $CINDERBOX_CEPH_DIR/ceph.conf as scripts/test.sh starts it, or /etc/ceph/ceph.conf), created with a random name and deleted afterwards
 * (memstore keeps every byte in RAM). No reachable cluster: the tests skip with the reason, unless
 * CINDERBOX_TEST_RBD=require, which makes that a failure.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';

export interface TestPool {
  pool: string;
  conf: string;
  remove(): void;
}

function confPath(): string | null {
  // scripts/test.sh starts the cluster in CINDERBOX_CEPH_DIR (default /tmp/cinderbox-ceph).
  const ci = `${process.env.CINDERBOX_CEPH_DIR ?? '/tmp/cinderbox-ceph'}/ceph.conf`;
  const c = process.env.CINDERBOX_TEST_RBD_CONF ?? [ci, '/etc/ceph/ceph.conf'].find((p) => existsSync(p));
  return c ?? null;
}

/**
 * Runs a ceph/rbd command, again up to four times when a busy young monitor answers "EPERM: problem getting
 * command descriptions" (scripts/start-ceph.sh retries its setup commands for the same reason).
 */
function ceph(conf: string, args: string[], tool = 'ceph'): string {
  for (let attempt = 1; ; attempt++) {
    try {
      return execFileSync(tool, ['--conf', conf, ...args], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const stderr = String((e as { stderr?: unknown }).stderr ?? '');
      if (attempt >= 5 || !stderr.includes('problem getting command descriptions')) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }
  }
}

/** A new pool, or the reason there is none (the caller skips with it). */
export function makeTestPool(label: string): TestPool | { skip: string } {
  const conf = confPath();
  let reason: string | null = null;
  if (!conf) reason = 'no Ceph configuration (set CINDERBOX_TEST_RBD_CONF or run .ci/ceph)';
  else {
    // Twice: a shared, busy monitor can miss one short deadline.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        ceph(conf, ['--connect-timeout', '15', 'mon', 'stat']);
        execFileSync('rbd', ['--version'], { stdio: 'ignore' });
        reason = null;
        break;
      } catch (e) {
        const err = e as Error & { stderr?: string };
        reason = `Ceph at ${conf} is not reachable or the rbd tool is missing: ${err.message.split('\n')[0]} ${(err.stderr ?? '').trim().split('\n').at(-1) ?? ''}`;
      }
    }
  }
  if (reason !== null || !conf) {
    if (process.env.CINDERBOX_TEST_RBD === 'require') throw new Error(`CINDERBOX_TEST_RBD=require but ${reason}`);
    return { skip: reason ?? 'no Ceph' };
  }
  const pool = `cinderbox-rbd-test-${label}-${randomBytes(4).toString('hex')}`;
  ceph(conf, ['osd', 'pool', 'create', pool, '8']);
  ceph(conf, ['pool', 'init', pool], 'rbd');
  return {
    pool,
    conf,
    remove: () => {
      ceph(conf, ['config', 'set', 'mon', 'mon_allow_pool_delete', 'true']);
      ceph(conf, ['osd', 'pool', 'rm', pool, pool, '--yes-i-really-really-mean-it']);
    },
  };
}
