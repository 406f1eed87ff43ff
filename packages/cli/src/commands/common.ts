// Command definitions only: this module and its siblings load at start-up, so they import nothing but commander.
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { ActionContext } from '../runtime/context.js';

/** Repeatable option: collects values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Repeatable `KEY=VALUE` option: collects into a map. */
export function keyValue(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const i = value.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError('expected KEY=VALUE');
  return { ...previous, [value.slice(0, i)]: value.slice(i + 1) };
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

/** `-f` and `-c` of every command that prints a resource or a list; `--long` on lists. */
export function withOutput(cmd: Command, kind: 'list' | 'show'): Command {
  cmd
    .addOption(
      new Option('-f, --format <format>', 'output format').choices(['table', 'json', 'yaml', 'value']).default('table'),
    )
    .option('-c, --column <column>', 'show only this column (repeatable; the name as shown in the table)', collect);
  if (kind === 'list') cmd.option('--long', 'list more columns');
  return cmd;
}

/** `--wait` and `--wait-timeout`. */
export function withWait(cmd: Command, what: string): Command {
  return cmd
    .option('--wait', `wait until ${what} (exit 3 on a failure status or timeout)`)
    .option('--wait-timeout <seconds>', 'give up waiting after this long (default 900)', positiveInt);
}

type ActionModule = Record<string, unknown>;

/**
 * An action that loads its implementation (and the SDK) only when it runs, so `--help` and `--version`
 * stay fast. Commander passes (...positionals, options, command).
 */
export function lazy(load: () => Promise<ActionModule>, name: string) {
  return async (...all: unknown[]): Promise<void> => {
    const cmd = all[all.length - 1] as Command;
    const args = all.slice(0, -2);
    const [{ runAction }, mod] = await Promise.all([import('../runtime/context.js'), load()]);
    const fn = mod[name] as (ctx: ActionContext) => Promise<void>;
    await runAction(args, cmd, fn);
  };
}

/**
 * OSC's `--no-property` beside a `--property KEY=VALUE` option. Commander would fold both into one `property`
 * value (the last flag wins), so the pairs are also gathered into `propertyPairs` and the flag into
 * `clearProperty`, and `--no-property --property k=v` means "replace the metadata", as in OSC.
 */
export function withNoProperty(cmd: Command): Command {
  cmd.option('--no-property', 'remove every metadata key first (with --property: replace the metadata)');
  cmd.on('option:no-property', () => cmd.setOptionValue('clearProperty', true));
  cmd.on('option:property', (value: string) =>
    cmd.setOptionValue('propertyPairs', keyValue(value, cmd.getOptionValue('propertyPairs') as Record<string, string> | undefined)),
  );
  return cmd;
}
