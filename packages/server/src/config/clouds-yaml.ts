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

/**
 * A string YAML reads back as the same string without quotes (a URL, a region, a generated password): starts with
 * a letter or `/`, no `: ` or ` #`, no trailing `:`, not a word YAML 1.1 readers (PyYAML) take for a boolean or null.
 */
function isPlain(v: string): boolean {
  return /^[A-Za-z/][\w./:@+-]*$/.test(v) && !/:$/.test(v) && !/^(true|false|null|yes|no|on|off|y|n)$/i.test(v);
}

/** Plain when safe (readable), else double-quoted as JSON: its escapes are a subset of YAML's. */
function scalar(v: string): string {
  return isPlain(v) ? v : JSON.stringify(v);
}

/** Block-style YAML of nested plain objects. */
function toYaml(v: Record<string, unknown>, indent = ''): string {
  let out = '';
  for (const [k, x] of Object.entries(v)) {
    if (x !== null && typeof x === 'object') out += `${indent}${k}:\n${toYaml(x as Record<string, unknown>, `${indent}  `)}`;
    else out += `${indent}${k}: ${typeof x === 'string' ? scalar(x) : String(x)}\n`;
  }
  return out;
}

/** The one line toYaml writes for the password, at the depth it writes it (clouds.cinderbox.auth). */
const OWN_PASSWORD = /^ {6}password: ("(?:[^"\\\n]|\\.)*"|[^\s"'].*)$/m;

async function passwordIn(text: string): Promise<string | null> {
  // Ours: the two header lines are the only ones above the cloud's depth (no other cloud, no other top-level key).
  const ours = text.startsWith('clouds:\n  cinderbox:\n') && (text.match(/^ {0,3}\S/gm) ?? []).length === 2;
  const own = ours ? OWN_PASSWORD.exec(text) : null;
  const value = own?.[1];
  if (value?.startsWith('"')) return JSON.parse(value) as string;
  if (value !== undefined && isPlain(value)) return value;
  const { parse } = await import('yaml');
  const existing = parse(text) as { clouds?: { cinderbox?: { auth?: { password?: string } } } };
  return existing?.clouds?.cinderbox?.auth?.password ?? null;
}
