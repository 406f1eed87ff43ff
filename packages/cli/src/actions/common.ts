import { DuplicateResourceError, isNotFound } from '@cinderbox/sdk';
import { CliError } from '../runtime/errors.js';

/** Turns the SDK's find errors into OSC's messages (exit 1). */
export async function found<R>(kind: string, nameOrId: string, find: () => Promise<R | undefined>): Promise<R> {
  try {
    const r = await find();
    if (r === undefined) throw new CliError(`No ${kind} with a name or ID of '${nameOrId}' exists.`);
    return r;
  } catch (e) {
    if (isNotFound(e)) throw new CliError(`No ${kind} with a name or ID of '${nameOrId}' exists.`);
    if (e instanceof DuplicateResourceError)
      throw new CliError(`More than one ${kind} exists with the name '${nameOrId}'.`);
    throw e;
  }
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

/** Only the keys whose values are defined (so the SDK sees no explicit undefineds). */
export function defined(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}

/**
 * Runs `fn` over every name, reports each failure on stderr and throws at the end when any failed
 * (OSC's "N of M deletes failed"), so one bad name does not stop the rest.
 */
export async function forEachName(kind: string, names: string[], fn: (name: string) => Promise<void>): Promise<void> {
  const failures: unknown[] = [];
  for (const name of names) {
    try {
      await fn(name);
    } catch (e) {
      failures.push(e);
      if (names.length > 1)
        process.stderr.write(`Failed to delete ${kind} '${name}': ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  if (failures.length === 1 && names.length === 1) throw failures[0];
  if (failures.length > 0) {
    const first = failures[0];
    // Keep the exit code of the first failure (wait failure 3, API 1).
    if (first instanceof Error && 'exitCode' in first) {
      const E = first.constructor as new (m: string) => Error;
      throw new E(`${failures.length} of ${names.length} ${kind}s failed to delete.`);
    }
    throw new CliError(`${failures.length} of ${names.length} ${kind}s failed to delete.`);
  }
}
