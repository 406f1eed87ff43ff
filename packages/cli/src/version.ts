/** The CLI's version (also printed by the launcher's `--version` fast path, before commander loads). */
export const VERSION = '0.1.0';
