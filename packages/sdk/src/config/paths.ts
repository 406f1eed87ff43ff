/**
 * Where clouds.yaml / secure.yaml / clouds-public.yaml are searched (openstacksdk order).
 * @packageDocumentation
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Inputs for path resolution; all injectable for tests. */
export interface SearchPathOptions {
  cwd?: string | undefined;
  homeDir?: string | undefined;
  env?: Readonly<Record<string, string | undefined>> | undefined;
  platform?: NodeJS.Platform | undefined;
}

/**
 * Directories searched, in order: cwd, the platform user config dir, `~/.config/openstack`,
 * the platform site config dir (`/etc/xdg/openstack` on Linux), `/etc/openstack`.
 *
 * @example
 * ```ts
 * configSearchDirs({ cwd: '/srv', homeDir: '/home/a' })[0]; // '/srv'
 * ```
 */
export function configSearchDirs(options: SearchPathOptions = {}): string[] {
  const env = options.env ?? process.env;
  const home = env.SNAP_REAL_HOME ?? options.homeDir ?? homedir();
  const platform = options.platform ?? process.platform;
  const cwd = options.cwd ?? process.cwd();
  const userDir =
    platform === 'darwin'
      ? join(home, 'Library', 'Application Support', 'openstack')
      : platform === 'win32'
        ? join(env.LOCALAPPDATA ?? join(home, 'AppData', 'Local'), 'OpenStack', 'openstack')
        : join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'openstack');
  const siteDir =
    platform === 'darwin'
      ? '/Library/Application Support/openstack'
      : platform === 'win32'
        ? join(env.PROGRAMDATA ?? 'C:\\ProgramData', 'OpenStack', 'openstack')
        : join((env.XDG_CONFIG_DIRS ?? '/etc/xdg').split(':')[0] || '/etc/xdg', 'openstack');
  const dirs = [cwd, userDir, join(home, '.config', 'openstack'), siteDir, '/etc/openstack'];
  return dirs.filter((d, i) => dirs.indexOf(d) === i);
}

/**
 * Candidate files for one kind (`clouds`, `secure`, `clouds-public`): the env override first, then
 * `<dir>/<kind>.{yaml,yml,json}` for every search dir.
 *
 * @example
 * ```ts
 * configCandidates('clouds', { env: { OS_CLIENT_CONFIG_FILE: '/x.yaml' } })[0]; // '/x.yaml'
 * ```
 */
export function configCandidates(
  kind: 'clouds' | 'secure' | 'clouds-public',
  options: SearchPathOptions = {},
): string[] {
  const env = options.env ?? process.env;
  const override =
    kind === 'clouds' ? env.OS_CLIENT_CONFIG_FILE : kind === 'secure' ? env.OS_CLIENT_SECURE_FILE : undefined;
  const files: string[] = override ? [override] : [];
  for (const dir of configSearchDirs(options)) {
    for (const ext of ['yaml', 'yml', 'json']) files.push(join(dir, `${kind}.${ext}`));
  }
  return files;
}
