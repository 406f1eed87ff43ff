import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

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
      password = await passwordIn(await readFile(path, 'utf8'));
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
  await writeFile(path, toYaml(doc), { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}

// The yaml library costs ~50 ms of CPU to load, on every start (bench/scale): the file this server writes is
// emitted and read back without it; only a file edited into another shape is handed to the library.

/** Block-style YAML of nested plain objects; strings double-quoted as JSON, a subset of YAML's escapes. */
function toYaml(v: Record<string, unknown>, indent = ''): string {
  let out = '';
  for (const [k, x] of Object.entries(v)) {
    if (x !== null && typeof x === 'object') out += `${indent}${k}:\n${toYaml(x as Record<string, unknown>, `${indent}  `)}`;
    else out += `${indent}${k}: ${typeof x === 'string' ? JSON.stringify(x) : String(x)}\n`;
  }
  return out;
}

/** The one line toYaml writes for the password, at the depth it writes it (clouds.cinderbox.auth). */
const OWN_PASSWORD = /^ {6}password: ("(?:[^"\\\n]|\\.)*")$/m;

async function passwordIn(text: string): Promise<string | null> {
  // Ours: the two header lines are the only ones above the cloud's depth (no other cloud, no other top-level key).
  const ours = text.startsWith('clouds:\n  cinderbox:\n') && (text.match(/^ {0,3}\S/gm) ?? []).length === 2;
  const own = ours ? OWN_PASSWORD.exec(text) : null;
  if (own) return JSON.parse(own[1]!) as string;
  const { parse } = await import('yaml');
  const existing = parse(text) as { clouds?: { cinderbox?: { auth?: { password?: string } } } };
  return existing?.clouds?.cinderbox?.auth?.password ?? null;
}
