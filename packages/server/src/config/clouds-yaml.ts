import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

export interface CloudsYamlInput {
  authUrl: string;
  region: string;
  /** Known only on the first start; later starts keep the password already in the file. */
  adminPassword: string | null;
}

/**
 * Writes DIR/clouds.yaml (mode 600) with the cloud `cinderbox` for the bootstrap admin. Never touches the
 * user's own config directories.
 */
export async function writeCloudsYaml(dataDir: string, input: CloudsYamlInput): Promise<string> {
  const path = join(dataDir, 'clouds.yaml');
  let password = input.adminPassword;
  if (password === null) {
    try {
      const existing = parse(await readFile(path, 'utf8')) as { clouds?: { cinderbox?: { auth?: { password?: string } } } };
      password = existing?.clouds?.cinderbox?.auth?.password ?? null;
    } catch {
      password = null;
    }
  }
  const doc = {
    clouds: {
      cinderbox: {
        auth_type: 'password',
        auth: {
          auth_url: input.authUrl,
          username: 'admin',
          ...(password !== null ? { password } : {}),
          project_name: 'admin',
          user_domain_name: 'Default',
          project_domain_name: 'Default',
        },
        region_name: input.region,
        interface: 'public',
        identity_api_version: 3,
        volume_api_version: 3,
        has_image: false,
      },
    },
  };
  await writeFile(path, stringify(doc), { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}
