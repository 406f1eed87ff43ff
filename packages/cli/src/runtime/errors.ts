/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  /** The API refused or failed (the server's message and request id are on stderr), or the config is unusable. */
  api: 1,
  /** Bad command line. */
  usage: 2,
  /** `--wait` ended in a failure status or timed out. */
  wait: 3,
  /** The check ran to the end and found the data damaged (`repo verify`): not a failure to ask. */
  damaged: 4,
} as const;

/** A command-line mistake found after parsing (e.g. `--property` without `=`): exit 2. */
export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
}

/** A failure the CLI itself reports (e.g. a name that matches nothing): exit 1. */
export class CliError extends Error {
  readonly exitCode: number = EXIT.api;
}

/** A `--wait` that ended in a failure status, a timeout or an interrupt: exit 3. */
export class WaitError extends Error {
  readonly exitCode = EXIT.wait;
}

/** `repo verify` finished and found problems: exit 4, so a script can tell damage from an unreachable server. */
export class DamageFoundError extends CliError {
  override readonly exitCode: number = EXIT.damaged;
}
