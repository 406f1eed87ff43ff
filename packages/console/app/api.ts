/**
 * The console's whole view of the server: the same public HTTP APIs any client uses, called with fetch on the
 * page's own origin. A refusal becomes an ApiError carrying the message the API wrote, in whichever of the three
 * error dialects (Cinder, CBR, Keystone) the route answers in.
 */

export interface Session {
  token: string;
  userName: string;
  userId: string;
  domain: string;
  projectId: string;
  projectName: string;
  roles: string[];
  expiresAt: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The human sentence inside any of the error bodies the server writes. */
export function errorMessage(status: number, body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if (typeof b.error_msg === 'string') return b.error_msg; // CBR
    const first = Object.values(b)[0];
    if (first && typeof first === 'object' && typeof (first as { message?: unknown }).message === 'string') {
      return (first as { message: string }).message; // Cinder {"badRequest": {...}} and Keystone {"error": {...}}
    }
  }
  return `The server answered ${status}.`;
}

async function call(method: string, path: string, token: string | null, body?: unknown, extra?: Record<string, string>): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json', ...extra };
  if (token) headers['X-Auth-Token'] = token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body), credentials: 'omit' });
  if (!res.ok) {
    const parsed: unknown = await res.json().catch(() => null);
    throw new ApiError(res.status, errorMessage(res.status, parsed));
  }
  return res;
}

async function json<T>(res: Response): Promise<T> {
  const text = await res.text();
  return (text ? JSON.parse(text) : {}) as T;
}

interface TokenBody {
  token: {
    expires_at: string;
    user: { id: string; name: string; domain: { id: string; name: string } };
    project?: { id: string; name: string };
    roles?: { name: string }[];
  };
}

function sessionFrom(token: string, body: TokenBody, domain: string): Session {
  const t = body.token;
  return {
    token,
    userName: t.user.name,
    userId: t.user.id,
    domain,
    projectId: t.project?.id ?? '',
    projectName: t.project?.name ?? '',
    roles: (t.roles ?? []).map((r) => r.name),
    expiresAt: t.expires_at,
  };
}

/** Keystone password authentication, scoped to a project by name in the given domain. */
export async function signIn(user: string, password: string, project: string, domain: string): Promise<Session> {
  const d = domain || 'Default';
  const dom = d.toLowerCase() === 'default' ? { id: 'default' } : { name: d };
  const res = await call('POST', '/identity/v3/auth/tokens?nocatalog', null, {
    auth: {
      identity: { methods: ['password'], password: { user: { name: user, domain: dom, password } } },
      scope: { project: { name: project, domain: dom } },
    },
  });
  return sessionFrom(res.headers.get('X-Subject-Token') ?? '', await json<TokenBody>(res), d);
}

/** A new token for another of the user's projects, from the current one (Keystone's token method). */
export async function rescope(s: Session, projectId: string): Promise<Session> {
  const res = await call('POST', '/identity/v3/auth/tokens?nocatalog', null, {
    auth: { identity: { methods: ['token'], token: { id: s.token } }, scope: { project: { id: projectId } } },
  });
  return sessionFrom(res.headers.get('X-Subject-Token') ?? '', await json<TokenBody>(res), s.domain);
}

export async function signOut(s: Session): Promise<void> {
  await call('DELETE', '/identity/v3/auth/tokens', s.token, undefined, { 'X-Subject-Token': s.token });
}

export interface Project {
  id: string;
  name: string;
}

export async function myProjects(s: Session): Promise<Project[]> {
  return (await json<{ projects: Project[] }>(await call('GET', '/identity/v3/auth/projects', s.token))).projects;
}

export interface Volume {
  id: string;
  name: string | null;
  size: number;
  status: string;
  created_at: string;
}
export interface Snapshot {
  id: string;
  name: string | null;
  volume_id: string;
  status: string;
  created_at: string;
  progress?: string;
}
export interface Backup {
  id: string;
  name: string | null;
  volume_id: string;
  status: string;
  created_at: string;
  updated_at: string | null;
  fail_reason: string | null;
  size: number;
  is_incremental: boolean;
}
export interface Progress {
  fraction: number;
  bytes_done: number;
  bytes_total: number;
  operation: string | null;
}
export interface Vault {
  id: string;
  name: string;
  billing: { size: number; allocated?: number; used?: number; status: string };
  resources: { id: string; name: string; type: string; protect_status?: string }[];
  backup_policy_id?: string | null;
  policy_id?: string | null;
}
export interface Policy {
  id: string;
  name: string;
  enabled: boolean;
  operation_type: string;
  operation_definition: { max_backups?: number; retention_duration_days?: number };
  trigger: { properties: { pattern: string[] } };
  associated_vaults: { vault_id: string }[];
}
export interface CbrBackup {
  id: string;
  name: string;
  vault_id: string;
  resource_id: string;
  resource_name: string;
  status: string;
  created_at: string;
  checkpoint_id: string;
}
export interface OperationLog {
  id: string;
  operation_type: string;
  status: string;
  created_at: string;
  ended_at: string | null;
  vault_id: string;
  vault_name: string;
  error_info?: { code: string; message: string } | null;
  extra_info?: { common?: { progress?: number } } | null;
}
export interface RepoStats {
  target: string;
  driver: string;
  logical_bytes: number;
  stored_bytes: number;
  chunk_count: number;
  backup_count: number;
  last_verify: null | { at: string; ok: boolean; full: boolean; checked: number; errors: number; message: string | null };
  last_gc: null | { at: string; removed_chunks: number; freed_bytes: number };
}
export interface RepoHistory {
  samples: { at: string; logical_bytes: number; stored_bytes: number; chunk_count: number }[];
  backups: { id: string; finished_at: string; size_bytes: number; seconds: number; bytes_per_second: number }[];
}
export interface RepoJob {
  id: string;
  kind: 'verify' | 'gc';
  target: string;
  status: 'running' | 'succeeded' | 'failed';
  progress: number;
  started_at: string;
  finished_at: string | null;
  result: Record<string, unknown> | null;
  error: string | null;
}

/** The calls of one signed-in session, every path under the session's project. */
export class Client {
  constructor(readonly s: Session) {}

  private get v3() {
    return `/v3/${this.s.projectId}`;
  }
  private get cbr() {
    return `/cbr/v3/${this.s.projectId}`;
  }
  private async get<T>(path: string): Promise<T> {
    return json<T>(await call('GET', path, this.s.token));
  }
  private async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    return json<T>(await call(method, path, this.s.token, body));
  }

  get isAdmin(): boolean {
    return this.s.roles.includes('admin');
  }
  get canWrite(): boolean {
    return this.isAdmin || this.s.roles.includes('member');
  }

  volumes = async () => (await this.get<{ volumes: Volume[] }>(`${this.v3}/volumes/detail`)).volumes;
  snapshots = async () => (await this.get<{ snapshots: Snapshot[] }>(`${this.v3}/snapshots/detail`)).snapshots;
  backups = async () => (await this.get<{ backups: Backup[] }>(`${this.v3}/backups/detail`)).backups;
  backupProgress = async (id: string) => (await this.get<{ progress: Progress }>(`${this.v3}/backups/${id}/cinderbox-progress`)).progress;
  vaults = async () => (await this.get<{ vaults: Vault[] }>(`${this.cbr}/vaults`)).vaults;
  policies = async () => (await this.get<{ policies: Policy[] }>(`${this.cbr}/policies`)).policies;
  cbrBackups = async () => (await this.get<{ backups: CbrBackup[] }>(`${this.cbr}/backups?limit=200`)).backups;
  operationLogs = async () => (await this.get<{ operation_logs: OperationLog[] }>(`${this.cbr}/operation-logs?limit=50`)).operation_logs;

  createSnapshot = (volumeId: string, name: string) =>
    this.send('POST', `${this.v3}/snapshots`, { snapshot: { volume_id: volumeId, name, force: true } });
  createBackup = (volumeId: string, name: string, incremental: boolean) =>
    this.send('POST', `${this.v3}/backups`, { backup: { volume_id: volumeId, name, incremental, force: true } });
  restoreBackup = (backupId: string, target: { volumeId: string } | { name: string }) =>
    this.send<{ restore: { volume_id: string } }>(
      'POST',
      `${this.v3}/backups/${backupId}/restore`,
      { restore: 'volumeId' in target ? { volume_id: target.volumeId } : { name: target.name } },
    );
  deleteVolume = (id: string) => this.send('DELETE', `${this.v3}/volumes/${id}`);
  deleteSnapshot = (id: string) => this.send('DELETE', `${this.v3}/snapshots/${id}`);
  deleteBackup = (id: string) => this.send('DELETE', `${this.v3}/backups/${id}`);
  checkpoint = (vaultId: string) => this.send('POST', `${this.cbr}/checkpoints`, { checkpoint: { vault_id: vaultId, parameters: {} } });

  // Repository administration (admin only). The stats/history/jobs routes may not exist on an older server: a
  // 404 there is reported as null so the panel hides what it cannot show.
  repoStats = () => orNull(this.get<{ repository: RepoStats }>(`${this.v3}/cinderbox-repo/stats`).then((r) => r.repository));
  repoHistory = () => orNull(this.get<RepoHistory>(`${this.v3}/cinderbox-repo/history`));
  repoJobs = () => orNull(this.get<{ jobs: RepoJob[] }>(`${this.v3}/cinderbox-repo/jobs`).then((r) => r.jobs));
  startRepoJob = (kind: 'verify' | 'gc', opts: { full?: boolean; dry_run?: boolean }) =>
    orNull(this.send<{ job: RepoJob }>('POST', `${this.v3}/cinderbox-repo/jobs`, { job: { kind, ...opts } }).then((r) => r.job));
  /** The synchronous maintenance routes every server has: the fallback when the jobs route is absent. */
  runRepoNow = (kind: 'verify' | 'gc', opts: { full?: boolean; dry_run?: boolean }) =>
    this.send<Record<string, unknown>>('POST', `${this.v3}/cinderbox-repo/${kind}`, opts);
}

async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}
