import { render } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import {
  ApiError,
  type Backup,
  type CbrBackup,
  Client,
  myProjects,
  type OperationLog,
  type Policy,
  type Progress,
  type Project,
  type RepoHistory,
  type RepoJob,
  type RepoStats,
  rescope,
  type Session,
  signIn,
  signOut,
  type Snapshot,
  type Vault,
  type Volume,
} from './api.js';
import { age, bytes, maintenanceInWords, nextRun, parseTime, retentionInWords, RUNNING_BACKUP, RUNNING_SNAPSHOT, RUNNING_VOLUME, scheduleInWords, utc } from './format.js';
import './style.css';

// The token lives in sessionStorage: gone with the tab, never sent by the browser on its own (no cookie).
const SESSION_KEY = 'cinderbox.session';
const STALE_KEY = 'cinderbox.staleHours';

function loadSession(): Session | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as Session | null;
    return s && parseTime(s.expiresAt) > Date.now() ? s : null;
  } catch {
    return null;
  }
}

const say = (e: unknown) => (e instanceof ApiError ? e.message : e instanceof Error ? e.message : String(e));

function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const keep = (s: Session | null) => {
    if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
    else sessionStorage.removeItem(SESSION_KEY);
    setSession(s);
  };
  if (!session) return <SignIn onIn={keep} />;
  return <Console key={session.token} session={session} onSession={keep} />;
}

function SignIn({ onIn }: { onIn: (s: Session) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const v = (k: string) => String(f.get(k) ?? '');
    setBusy(true);
    setError(null);
    try {
      onIn(await signIn(v('user'), v('password'), v('project'), v('domain')));
    } catch (err) {
      setError(say(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">cinderbox</h1>
        <label>
          User <input name="user" autocomplete="username" required autofocus />
        </label>
        <label>
          Password <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <label>
          Project <input name="project" required />
        </label>
        <label>
          Domain <input name="domain" value="Default" />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

interface Data {
  volumes: Volume[];
  snapshots: Snapshot[];
  backups: Backup[];
  vaults: Vault[];
  policies: Policy[];
  cbrBackups: CbrBackup[];
  logs: OperationLog[];
  progress: Record<string, Progress>;
  loadedAt: number;
}

type View = 'overview' | 'work' | 'vaults' | 'repository';
const VIEWS: [View, string][] = [
  ['overview', 'Protection'],
  ['work', 'Running work'],
  ['vaults', 'Vaults & policies'],
  ['repository', 'Repository'],
];

function viewOfHash(): View {
  const h = location.hash.replace(/^#\/?/, '');
  return (VIEWS.find(([v]) => v === h)?.[0] ?? 'overview') as View;
}

interface Ask {
  text: string;
  run: () => Promise<unknown>;
  done?: string;
}

function Console({ session, onSession }: { session: Session; onSession: (s: Session | null) => void }) {
  const client = useMemo(() => new Client(session), [session]);
  const [view, setView] = useState<View>(viewOfHash);
  const [data, setData] = useState<Data | null>(null);
  // A failed load clears itself with the next good one; an action's refusal stays until the next action or view.
  const [loadError, setLoadError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [projects, setProjects] = useState<Project[]>([]);
  const [ask, setAsk] = useState<Ask | null>(null);
  const [restoreOf, setRestoreOf] = useState<Backup | null>(null);

  useEffect(() => {
    const on = () => {
      setView(viewOfHash());
      setNotice(null);
      setError(null);
    };
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  useEffect(() => {
    myProjects(session).then(setProjects, () => setProjects([]));
  }, [session]);

  const refresh = useCallback(async () => {
    try {
      // CBR is a separate API family: a failure there must not blank the block-storage views.
      const soft = <T,>(p: Promise<T[]>) => p.catch(() => [] as T[]);
      const [volumes, snapshots, backups, vaults, policies, cbrBackups, logs] = await Promise.all([
        client.volumes(),
        client.snapshots(),
        client.backups(),
        soft(client.vaults()),
        soft(client.policies()),
        soft(client.cbrBackups()),
        soft(client.operationLogs()),
      ]);
      const progress: Record<string, Progress> = {};
      await Promise.all(
        backups
          .filter((b) => RUNNING_BACKUP.has(b.status) || justFinished(b, Date.now()))
          .map(async (b) => {
            progress[b.id] = await client.backupProgress(b.id).catch(() => ({ fraction: 0, bytes_done: 0, bytes_total: 0, operation: null }));
          }),
      );
      setData({ volumes, snapshots, backups, vaults, policies, cbrBackups, logs, progress, loadedAt: Date.now() });
      setLoadError(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) onSession(null);
      else setLoadError(say(e));
    }
  }, [client]);

  const running = data ? isBusy(data) : false;
  const live = useEvents(client, refresh);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  // Poll what the API already exposes: quickly while something runs, slowly otherwise. With the event stream
  // open, changes arrive as they happen; the poll then only moves progress bars and catches what a stream misses.
  useEffect(() => {
    const t = setTimeout(() => void refresh(), running ? (live ? 2000 : 1000) : live ? 30000 : 10000);
    return () => clearTimeout(t);
  }, [data, running, live, refresh]);

  const act = (a: Ask) => setAsk(a);
  const confirmNow = async () => {
    if (!ask) return;
    const a = ask;
    setAsk(null);
    try {
      await a.run();
      setError(null);
      setNotice(a.done ?? 'Done.');
    } catch (e) {
      setNotice(null);
      setError(say(e));
    }
    void refresh();
  };

  const switchProject = async (id: string) => {
    try {
      onSession(await rescope(session, id));
    } catch (e) {
      setError(say(e));
    }
  };
  const out = async () => {
    await signOut(session).catch(() => {});
    onSession(null);
  };

  return (
    <div class="shell">
      <header>
        <strong class="brand">cinderbox</strong>
        <nav aria-label="Views">
          {VIEWS.filter(([v]) => v !== 'repository' || client.isAdmin).map(([v, label]) => (
            <a href={`#/${v}`} aria-current={v === view ? 'page' : undefined} key={v}>
              {label}
            </a>
          ))}
        </nav>
        <div class="who">
          <label>
            <span class="sr">Project</span>
            <select aria-label="Project" value={session.projectId} onChange={(e) => void switchProject((e.currentTarget as HTMLSelectElement).value)}>
              {(projects.length ? projects : [{ id: session.projectId, name: session.projectName }]).map((p) => (
                <option value={p.id} key={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
          <span class="user">
            {session.userName} ({session.roles.join(', ')})
          </span>
          <button onClick={out}>Sign out</button>
        </div>
      </header>
      <main>
        {(error ?? loadError) && (
          <p class="error" role="alert" data-testid="error">
            {error ?? loadError}
          </p>
        )}
        {notice && !error && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        {!data ? (
          <p>Loading…</p>
        ) : view === 'overview' ? (
          <Overview data={data} client={client} act={act} />
        ) : view === 'work' ? (
          <Work data={data} client={client} act={act} onRestore={setRestoreOf} />
        ) : view === 'vaults' ? (
          <Vaults data={data} client={client} act={act} />
        ) : client.isAdmin ? (
          <Repository client={client} />
        ) : (
          <p>The repository view is for administrators.</p>
        )}
      </main>
      {ask && (
        <Modal title="Please confirm" onClose={() => setAsk(null)}>
          <p>{ask.text}</p>
          <div class="buttons">
            <button class="primary" onClick={() => void confirmNow()}>
              Confirm
            </button>
            <button onClick={() => setAsk(null)}>Cancel</button>
          </div>
        </Modal>
      )}
      {restoreOf && data && (
        <RestoreDialog
          backup={restoreOf}
          volumes={data.volumes}
          onClose={() => setRestoreOf(null)}
          onRestore={(target, what) => {
            setRestoreOf(null);
            act({ text: `Restore backup ${restoreOf.name ?? restoreOf.id} into ${what}?`, run: () => client.restoreBackup(restoreOf.id, target), done: 'Restore started.' });
          }}
        />
      )}
    </div>
  );
}

/** A backup that finished in the last two minutes stays in the running list with its final bar. */
function justFinished(b: Backup, now: number): boolean {
  return !RUNNING_BACKUP.has(b.status) && b.updated_at !== null && now - parseTime(b.updated_at) < 120000;
}

/**
 * The server's change stream (GET …/cinderbox-events), where it has one. EventSource cannot send headers, so that
 * one route takes the token as ?token=. A server without the route answers 404, the stream errors before it
 * opens, and the console stays on polling alone. Returns whether the stream is open.
 */
function useEvents(client: Client, onChange: () => Promise<void>): boolean {
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    const es = new EventSource(`/v3/${client.s.projectId}/cinderbox-events?token=${encodeURIComponent(client.s.token)}`);
    let pending: ReturnType<typeof setTimeout> | null = null;
    let opened = false;
    es.onopen = () => {
      opened = true;
      setOpen(true);
    };
    es.onerror = () => {
      // Given up when it never opened (no such route) or the server refused it; after an open the browser retries.
      if (es.readyState === EventSource.CLOSED || !opened) {
        es.close();
        setOpen(false);
      }
    };
    es.addEventListener('change', () => {
      // A burst of changes (a checkpoint of many volumes) becomes one refresh.
      if (pending === null) pending = setTimeout(() => ((pending = null), void onChange()), 250);
    });
    return () => {
      if (pending !== null) clearTimeout(pending);
      es.close();
    };
  }, [client]);
  return open;
}

function isBusy(d: Data): boolean {
  return (
    d.backups.some((b) => RUNNING_BACKUP.has(b.status)) ||
    d.snapshots.some((s) => RUNNING_SNAPSHOT.has(s.status)) ||
    d.volumes.some((v) => RUNNING_VOLUME.has(v.status)) ||
    d.logs.some((l) => l.status === 'running' || l.status === 'waiting')
  );
}

/** A native modal dialog: the browser traps focus in it and closes it on Escape. */
function Modal({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog ref={ref} aria-label={title} onClose={onClose}>
      <h2>{title}</h2>
      {children}
    </dialog>
  );
}

function latest<T extends { created_at: string }>(xs: T[]): T | undefined {
  let best: T | undefined;
  for (const x of xs) if (!best || parseTime(x.created_at) > parseTime(best.created_at)) best = x;
  return best;
}

function vaultOf(d: Data, volumeId: string): { vault?: Vault; policy?: Policy } {
  const vault = d.vaults.find((v) => v.resources.some((r) => r.id === volumeId));
  if (!vault) return {};
  const pid = vault.backup_policy_id ?? vault.policy_id;
  const policy = d.policies.find((p) => p.id === pid || p.associated_vaults?.some((a) => a.vault_id === vault.id));
  return policy ? { vault, policy } : { vault };
}

type Act = (a: Ask) => void;

function Overview({ data, client, act }: { data: Data; client: Client; act: Act }) {
  const [hours, setHours] = useState<number>(() => Number(localStorage.getItem(STALE_KEY) ?? 24) || 24);
  const now = data.loadedAt;
  const rows = data.volumes.map((v) => {
    const snap = latest(data.snapshots.filter((s) => s.volume_id === v.id));
    const good = data.backups.filter((b) => b.volume_id === v.id && b.status === 'available');
    const backup = latest(data.backups.filter((b) => b.volume_id === v.id));
    const lastGood = latest(good);
    const stale = !lastGood || now - parseTime(lastGood.created_at) > hours * 3600000;
    return { v, snap, backup, lastGood, stale, ...vaultOf(data, v.id) };
  });
  const stale = rows.filter((r) => r.stale).length;
  const setH = (n: number) => {
    if (n > 0) {
      localStorage.setItem(STALE_KEY, String(n));
      setHours(n);
    }
  };
  return (
    <section aria-labelledby="ov-title">
      <h1 id="ov-title">Protection</h1>
      <ul class="counts">
        <li>
          <b data-testid="count-volumes">{rows.length}</b> volumes
        </li>
        <li>
          <b data-testid="count-protected">{rows.length - stale}</b> protected
        </li>
        <li class={stale ? 'bad' : ''}>
          <b data-testid="count-stale">{stale}</b> without a backup in {hours} h
        </li>
        <li>
          <b>{data.backups.length}</b> backups, <b>{data.snapshots.length}</b> snapshots
        </li>
      </ul>
      <label class="threshold">
        Stale after (hours){' '}
        <input type="number" min={1} value={hours} onChange={(e) => setH(Number((e.currentTarget as HTMLInputElement).value))} />
      </label>
      <div class="table">
        <table>
          <thead>
            <tr>
              <th>Volume</th>
              <th>Status</th>
              <th>Latest snapshot</th>
              <th>Latest backup</th>
              <th>Vault / policy</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.v.id} class={r.stale ? 'stale' : 'ok'} data-volume={r.v.name ?? r.v.id} data-protected={r.stale ? 'no' : 'yes'}>
                <td>
                  {r.v.name || r.v.id.slice(0, 8)} <small>{r.v.size} GiB</small>
                </td>
                <td>{r.v.status}</td>
                <td>{r.snap ? `${r.snap.status}, ${age(r.snap.created_at, now)}` : '—'}</td>
                <td>
                  {r.backup ? `${r.backup.status}, ${age(r.backup.created_at, now)}` : <span class="bad">never</span>}
                  {r.stale && r.backup && <span class="bad"> (stale)</span>}
                </td>
                <td>{r.vault ? `${r.vault.name}${r.policy ? ` / ${r.policy.name}` : ''}` : '—'}</td>
                <td>
                  <div class="actions">
                  {client.canWrite && (
                    <>
                      <button onClick={() => act({ text: `Take a snapshot of ${r.v.name ?? r.v.id} now?`, run: () => client.createSnapshot(r.v.id, `console-${Date.now()}`), done: 'Snapshot started.' })}>
                        Snapshot
                      </button>
                      <button onClick={() => act({ text: `Back up ${r.v.name ?? r.v.id} now (full)?`, run: () => client.createBackup(r.v.id, `console-${Date.now()}`, false), done: 'Backup started.' })}>
                        Back up
                      </button>
                      <button
                        disabled={!r.lastGood}
                        onClick={() => act({ text: `Back up ${r.v.name ?? r.v.id} now (incremental)?`, run: () => client.createBackup(r.v.id, `console-${Date.now()}`, true), done: 'Backup started.' })}
                      >
                        Incremental
                      </button>
                      <button class="danger" onClick={() => act({ text: `Delete volume ${r.v.name ?? r.v.id}? This cannot be undone.`, run: () => client.deleteVolume(r.v.id), done: 'Delete requested.' })}>
                        Delete
                      </button>
                    </>
                  )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {rows.length === 0 && <p>No volumes in this project.</p>}
      </div>
    </section>
  );
}

function Bar({ value, label }: { value: number; label: string }) {
  const pct = Math.round(Math.max(0, Math.min(1, value)) * 100);
  return (
    <span class="bar">
      <progress max={100} value={pct} aria-label={label} data-pct={pct} />
      <span>{pct} %</span>
    </span>
  );
}

function Work({ data, client, act, onRestore }: { data: Data; client: Client; act: Act; onRestore: (b: Backup) => void }) {
  const now = data.loadedAt;
  const volName = (id: string) => data.volumes.find((v) => v.id === id)?.name || id.slice(0, 8);
  const runningBackups = data.backups.filter((b) => RUNNING_BACKUP.has(b.status) || justFinished(b, now));
  const runningSnaps = data.snapshots.filter((s) => RUNNING_SNAPSHOT.has(s.status));
  const runningVolumes = data.volumes.filter((v) => RUNNING_VOLUME.has(v.status));
  const runningLogs = data.logs.filter((l) => l.status === 'running' || l.status === 'waiting');
  const nothing = !runningBackups.some((b) => RUNNING_BACKUP.has(b.status)) && !runningSnaps.length && !runningVolumes.length && !runningLogs.length;
  const history = [...data.backups].filter((b) => !RUNNING_BACKUP.has(b.status)).sort((a, b) => parseTime(b.created_at) - parseTime(a.created_at));
  const failedSnaps = data.snapshots.filter((s) => s.status === 'error');
  const failedLogs = data.logs.filter((l) => l.status === 'failed');
  return (
    <section aria-labelledby="work-title">
      <h1 id="work-title">Running work</h1>
      {nothing && <p>Nothing is running.</p>}
      <ul class="running" data-testid="running">
        {runningBackups.map((b) => {
          const p = data.progress[b.id];
          return (
            <li key={b.id} data-backup={b.name ?? b.id} data-status={b.status}>
              Backup {b.name ?? b.id.slice(0, 8)} of {volName(b.volume_id)}: {RUNNING_BACKUP.has(b.status) ? b.status : `finished (${b.status})`}
              {p ? ` (${bytes(p.bytes_done)} of ${bytes(p.bytes_total)})` : ''} <Bar value={p?.fraction ?? 0} label={`progress of ${b.name ?? b.id}`} />
            </li>
          );
        })}
        {runningSnaps.map((s) => (
          <li key={s.id}>
            Snapshot {s.name ?? s.id.slice(0, 8)} of {volName(s.volume_id)}: {s.status}{' '}
            <Bar value={Number.parseInt(s.progress ?? '0', 10) / 100} label={`progress of ${s.name ?? s.id}`} />
          </li>
        ))}
        {runningVolumes.map((v) => (
          <li key={v.id}>
            Volume {v.name ?? v.id.slice(0, 8)}: {v.status}
          </li>
        ))}
        {runningLogs.map((l) => (
          <li key={l.id}>
            CBR {l.operation_type} in vault {l.vault_name}: {l.status}{' '}
            <Bar value={(l.extra_info?.common?.progress ?? 0) / 100} label={`progress of ${l.operation_type} ${l.id}`} />
          </li>
        ))}
      </ul>
      <h2>Backups</h2>
      <div class="table">
        <table data-testid="backups">
          <thead>
            <tr>
              <th>Backup</th>
              <th>Volume</th>
              <th>Kind</th>
              <th>Status</th>
              <th>Created</th>
              <th>Failure reason</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {history.map((b) => (
              <tr key={b.id} class={b.status === 'error' ? 'stale' : ''} data-backup={b.name ?? b.id} data-status={b.status}>
                <td>{b.name || b.id.slice(0, 8)}</td>
                <td>{volName(b.volume_id)}</td>
                <td>{b.is_incremental ? 'incremental' : 'full'}</td>
                <td>{b.status}</td>
                <td>{age(b.created_at, now)}</td>
                <td>{b.fail_reason ?? ''}</td>
                <td>
                  <div class="actions">
                  {client.canWrite && (
                    <>
                      <button disabled={b.status !== 'available'} onClick={() => onRestore(b)}>
                        Restore
                      </button>
                      <button class="danger" onClick={() => act({ text: `Delete backup ${b.name ?? b.id}?`, run: () => client.deleteBackup(b.id), done: 'Delete requested.' })}>
                        Delete
                      </button>
                    </>
                  )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {(failedSnaps.length > 0 || failedLogs.length > 0) && (
        <>
          <h2>Failed</h2>
          <ul>
            {failedSnaps.map((s) => (
              <li key={s.id}>
                Snapshot {s.name ?? s.id} of {volName(s.volume_id)} failed {age(s.created_at, now)}
              </li>
            ))}
            {failedLogs.map((l) => (
              <li key={l.id}>
                CBR {l.operation_type} in {l.vault_name} failed: {l.error_info?.message ?? 'no reason given'}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function RestoreDialog({
  backup,
  volumes,
  onClose,
  onRestore,
}: {
  backup: Backup;
  volumes: Volume[];
  onClose: () => void;
  onRestore: (t: { volumeId: string } | { name: string }, what: string) => void;
}) {
  const [mode, setMode] = useState<'new' | 'existing'>('new');
  const [name, setName] = useState(`restored-${backup.name ?? backup.id.slice(0, 8)}`);
  const fits = volumes.filter((v) => v.status === 'available' && v.size >= backup.size);
  const [target, setTarget] = useState(fits[0]?.id ?? '');
  const submit = (e: Event) => {
    e.preventDefault();
    if (mode === 'new') onRestore({ name }, `a new volume "${name}"`);
    else onRestore({ volumeId: target }, `the existing volume ${volumes.find((v) => v.id === target)?.name ?? target} (its data is overwritten)`);
  };
  return (
    <Modal title={`Restore ${backup.name ?? backup.id}`} onClose={onClose}>
      <form onSubmit={submit}>
        <fieldset>
          <legend>Into</legend>
          <label>
            <input type="radio" name="mode" checked={mode === 'new'} onChange={() => setMode('new')} /> a new volume named{' '}
            <input aria-label="New volume name" value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
          </label>
          <label>
            <input type="radio" name="mode" checked={mode === 'existing'} disabled={!fits.length} onChange={() => setMode('existing')} /> an existing volume{' '}
            <select aria-label="Existing volume" value={target} onChange={(e) => setTarget((e.currentTarget as HTMLSelectElement).value)}>
              {fits.map((v) => (
                <option value={v.id} key={v.id}>
                  {v.name || v.id}
                </option>
              ))}
            </select>
          </label>
        </fieldset>
        <div class="buttons">
          <button class="primary" type="submit">
            Restore…
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}

function Vaults({ data, client, act }: { data: Data; client: Client; act: Act }) {
  const now = data.loadedAt;
  return (
    <section aria-labelledby="vaults-title">
      <h1 id="vaults-title">Vaults & policies</h1>
      {!data.vaults.length && <p>No vaults in this project.</p>}
      <div class="cards">
        {data.vaults.map((v) => {
          const pid = v.backup_policy_id ?? v.policy_id;
          const policy = data.policies.find((p) => p.id === pid || p.associated_vaults?.some((a) => a.vault_id === v.id));
          // CBR reports `used` in MB and `size` in GB.
          const usedMb = v.billing.used ?? (v.billing.allocated ?? 0) * 1024;
          const sizeMb = v.billing.size * 1024;
          const backups = data.cbrBackups.filter((b) => b.vault_id === v.id).sort((a, b) => parseTime(a.created_at) - parseTime(b.created_at));
          const next = policy?.enabled ? nextRun(policy.trigger.properties.pattern, now) : null;
          return (
            <article class="card" key={v.id} data-vault={v.name}>
              <h2>{v.name}</h2>
              <p>
                <meter min={0} max={sizeMb} value={usedMb} high={sizeMb * 0.8} aria-label={`capacity used of ${v.name}`} /> {bytes(usedMb * 1048576)} of{' '}
                {v.billing.size} GB used ({Math.round((usedMb / sizeMb) * 100)} %)
              </p>
              <p>{v.resources.length} resources</p>
              {policy ? (
                <p>
                  Policy <b>{policy.name}</b>
                  {policy.enabled ? '' : ' (disabled)'}: {policy.trigger.properties.pattern.map(scheduleInWords).join('; ')},{' '}
                  {retentionInWords(policy.operation_definition)}.
                  {next !== null && <> Next run {utc(next)}.</>}
                </p>
              ) : (
                <p>No policy: backups only when asked.</p>
              )}
              <Timeline items={backups} now={now} />
              {client.canWrite && (
                <button onClick={() => act({ text: `Create a checkpoint of vault ${v.name} now?`, run: () => client.checkpoint(v.id), done: 'Checkpoint started.' })}>
                  Checkpoint now
                </button>
              )}
            </article>
          );
        })}
      </div>
    </section>
  );
}

/** Backups of a vault over the last 30 days as dots on a line, coloured by status. */
function Timeline({ items, now }: { items: CbrBackup[]; now: number }) {
  const span = 30 * 86400000;
  const w = 300;
  return (
    <figure>
      <svg viewBox={`0 0 ${w} 24`} width="100%" height="24" role="img" aria-label={`${items.length} backups in the last 30 days`}>
        <line x1="0" y1="12" x2={w} y2="12" class="axis" />
        {items.map((b) => {
          const x = w - ((now - parseTime(b.created_at)) / span) * w;
          return x < 0 ? null : <circle key={b.id} cx={Math.min(w - 4, x)} cy="12" r="4" class={`dot ${b.status}`} />;
        })}
      </svg>
      <figcaption>
        {items.length ? `${items.length} backups, last ${age(items[items.length - 1]!.created_at, now)}` : 'no backups yet'} (30 days)
      </figcaption>
    </figure>
  );
}

function Repository({ client }: { client: Client }) {
  const [stats, setStats] = useState<RepoStats | null | undefined>(undefined);
  const [history, setHistory] = useState<RepoHistory | null>(null);
  const [jobs, setJobs] = useState<RepoJob[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const load = useCallback(async () => {
    try {
      const [s, h, j] = await Promise.all([client.repoStats(), client.repoHistory(), client.repoJobs()]);
      setStats(s);
      setHistory(h);
      setJobs(j);
    } catch (e) {
      setError(say(e));
    }
  }, [client]);
  useEffect(() => {
    void load();
  }, [load]);
  const jobRunning = jobs?.some((j) => j.status === 'running') ?? false;
  useEffect(() => {
    if (!jobRunning) return;
    const t = setTimeout(() => void load(), 1000);
    return () => clearTimeout(t);
  }, [jobs, jobRunning, load]);

  const start = async (kind: 'verify' | 'gc') => {
    setError(null);
    setResult(null);
    setBusy(true);
    try {
      const job = await client.startRepoJob(kind, {});
      if (job === null) {
        // No jobs route on this server: the synchronous call answers when the work is done.
        setResult(maintenanceInWords(kind, await client.runRepoNow(kind, {})));
      }
      await load();
    } catch (e) {
      setError(say(e));
    } finally {
      setBusy(false);
    }
  };
  const saved = stats && stats.logical_bytes > 0 ? 1 - stats.stored_bytes / stats.logical_bytes : 0;
  return (
    <section aria-labelledby="repo-title">
      <h1 id="repo-title">Repository</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {stats && (
        <ul class="counts">
          <li>
            <b>{bytes(stats.logical_bytes)}</b> backed up
          </li>
          <li>
            <b>{bytes(stats.stored_bytes)}</b> stored ({Math.round(saved * 100)} % saved by dedup and compression)
          </li>
          <li>
            <b>{stats.chunk_count}</b> chunks, <b>{stats.backup_count}</b> backups
          </li>
          <li>
            Last verify:{' '}
            {stats.last_verify
              ? `${stats.last_verify.ok ? 'ok' : `${stats.last_verify.errors} errors`} ${age(stats.last_verify.at, Date.now())}${stats.last_verify.message ? ` (${stats.last_verify.message})` : ''}`
              : 'never'}
          </li>
        </ul>
      )}
      <div class="buttons">
        <button disabled={busy || jobRunning} onClick={() => void start('verify')}>
          Verify repository
        </button>
        <button disabled={busy || jobRunning} onClick={() => void start('gc')}>
          Collect garbage
        </button>
        {busy && <span role="status">Working…</span>}
      </div>
      {result && (
        <p class="result" role="status">
          {result}
        </p>
      )}
      {jobs && jobs.length > 0 && (
        <ul class="running">
          {jobs.slice(0, 5).map((j) => (
            <li key={j.id}>
              {j.kind} on {j.target}: {j.status} <Bar value={j.progress / 100} label={`${j.kind} progress`} />{' '}
              {j.error ?? (j.status === 'succeeded' ? maintenanceInWords(j.kind, j.result) : '')}
            </li>
          ))}
        </ul>
      )}
      {history && history.samples.length > 1 && <Chart history={history} />}
    </section>
  );
}

/** Stored bytes over time as a line, each finished backup's throughput as a bar beneath it. */
function Chart({ history }: { history: RepoHistory }) {
  const w = 600;
  const h = 160;
  const pts = history.samples.map((s) => [parseTime(s.at), s.stored_bytes] as const);
  const t0 = pts[0]![0];
  const t1 = Math.max(t0 + 1, pts[pts.length - 1]![0]);
  const yMax = Math.max(1, ...pts.map((p) => p[1]));
  const x = (t: number) => ((t - t0) / (t1 - t0)) * w;
  const line = pts.map(([t, v], i) => `${i ? 'L' : 'M'}${x(t).toFixed(1)},${(h - 40 - (v / yMax) * (h - 50)).toFixed(1)}`).join(' ');
  const tpMax = Math.max(1, ...history.backups.map((b) => b.bytes_per_second));
  return (
    <figure>
      <svg viewBox={`0 0 ${w} ${h}`} width="100%" role="img" aria-label="Stored bytes and backup throughput over time">
        <path d={line} class="line" />
        {history.backups.map((b) => {
          const bh = (b.bytes_per_second / tpMax) * 30;
          return <rect key={b.id} x={Math.max(0, x(parseTime(b.finished_at)) - 2)} y={h - bh} width="4" height={bh} class="tp" />;
        })}
      </svg>
      <figcaption>
        Stored bytes (line, up to {bytes(yMax)}) and backup throughput (bars, up to {bytes(tpMax)}/s)
      </figcaption>
    </figure>
  );
}

render(<App />, document.getElementById('app')!);
