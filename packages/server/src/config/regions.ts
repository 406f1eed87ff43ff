/**
 * CBR replication regions: `serve --region NAME=TARGET` (repeatable) or CINDERBOX_REGIONS (the specs separated by
 * whitespace) names a configured backup target as a region. A cinderbox node has one Keystone and one metadata
 * store, so a "region" here is only where replicated backups are kept: another bucket, another site's S3.
 */
import { DATA_DIR_TARGET } from '../domain/ports/backup-targets.js';
import { TARGET_NAME_RE } from './backup-targets.js';

export interface RegionSpec {
  name: string;
  /** The backup target holding the region's vaults. */
  target: string;
}

/** Every `NAME=TARGET`; names unique, each target configured (or `default`, the data directory's repository). */
export function regionsConfig(input: { regions?: string[] }, env: NodeJS.ProcessEnv, targetNames: readonly string[]): RegionSpec[] {
  const specs = input.regions ?? (env.CINDERBOX_REGIONS ?? '').split(/\s+/).filter(Boolean);
  const known = new Set([DATA_DIR_TARGET, ...targetNames]);
  const out: RegionSpec[] = [];
  for (const spec of specs) {
    const fail = (why: string) => new Error(`region ${JSON.stringify(spec)}: ${why}`);
    const eq = spec.indexOf('=');
    if (eq <= 0) throw fail('expected NAME=TARGET (a --backup-target name, or default)');
    const name = spec.slice(0, eq);
    const target = spec.slice(eq + 1);
    if (!TARGET_NAME_RE.test(name)) throw fail("the name must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit");
    if (!known.has(target)) throw fail(`${JSON.stringify(target)} is not a configured backup target (configured: ${[...known].join(', ')})`);
    if (out.some((r) => r.name === name)) throw fail(`region ${name} is configured twice`);
    out.push({ name, target });
  }
  return out;
}
