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
import { type ChangeEvent, ChangeStream, type StreamRecord, type StreamState } from './events.js';
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
  const { live, state: streamState, received, streamed, listen } = useEvents(client, refresh);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  // With the stream open, changes and progress arrive as they happen, and the poll only catches what a stream
  // misses (and the byte counts beside the bars). Without it, the API is polled: quickly while something runs.
  useEffect(() => {
    const t = setTimeout(() => void refresh(), running ? (live ? 5000 : 1000) : live ? 30000 : 10000);
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
      const next = await rescope(session, id);
      onSession(next);
      // The old token would stay good until it expires. A token from rescoping is independent of the one it came
      // from (the server revokes by token, not by chain), so revoking the old one leaves the new one working.
      void signOut(session).catch(() => {});
    } catch (e) {
      setError(say(e));
    }
  };
  const out = async () => {
    await signOut(session).catch(() => {});
    onSession(null);
  };

  return (
    <div class="shell" data-stream={streamState} data-stream-events={received}>
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
          <Work data={data} client={client} act={act} onRestore={setRestoreOf} streamed={streamed} />
        ) : view === 'vaults' ? (
          <Vaults data={data} client={client} act={act} />
        ) : client.isAdmin ? (
          <Repository client={client} live={live} listen={listen} />
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

type Listener = (e: ChangeEvent) => void;

declare global {
  interface Window {
    cinderboxStream?: StreamRecord;
  }
}

/**
 * The server's change stream for this session's project. A status change refreshes the lists (a burst of them,
 * a checkpoint of many volumes, becomes one refresh); a progress report only moves its bar, so a running backup
 * costs no API calls. Returns the stream's state, the last progress each backup or restore reported on it, and a
 * way for a view to hear the events too. Reopening after a loss refreshes, since what was said meanwhile is lost.
 */
function useEvents(client: Client, onChange: () => Promise<void>) {
  const [state, setState] = useState<StreamState>('connecting');
  const [received, setReceived] = useState(0);
  const [streamed, setStreamed] = useState<Record<string, number>>({});
  const listeners = useRef(new Set<Listener>());
  const change = useRef(onChange);
  change.current = onChange;
  useEffect(() => {
    if (typeof EventSource === 'undefined') {
      setState('down');
      return;
    }
    const record: StreamRecord = { received: 0, seen: [] };
    window.cinderboxStream = record;
    const statuses = new Map<string, string>();
    let pending: ReturnType<typeof setTimeout> | null = null;
    const soon = () => {
      if (pending === null) pending = setTimeout(() => ((pending = null), void change.current()), 250);
    };
    let wasDown = false;
    const stream = new ChangeStream(`/v3/${client.s.projectId}/cinderbox-events?token=${encodeURIComponent(client.s.token)}`, {
      state: (s) => {
        setState(s);
        if (s === 'down') wasDown = true;
        if (s === 'open' && wasDown) soon();
      },
      event: (e) => {
        record.received++;
        record.seen.push(`${e.type}:${e.id}`);
        if (record.seen.length > 500) record.seen.shift();
        setReceived(record.received);
        const key = `${e.type}:${e.id}`;
        if (statuses.get(key) !== e.status) {
          statuses.set(key, e.status);
          soon();
        }
        if ((e.type === 'backup' || e.type === 'restore') && e.progress !== null) {
          const pct = e.progress;
          setStreamed((m) => (m[e.id] === pct ? m : { ...m, [e.id]: pct }));
        }
        for (const l of listeners.current) l(e);
      },
    });
    stream.start();
    return () => {
      if (pending !== null) clearTimeout(pending);
      stream.stop();
    };
  }, [client]);
  const listen = useCallback((l: Listener) => {
    listeners.current.add(l);
    return () => void listeners.current.delete(l);
  }, []);
  return { live: state === 'open', state, received, streamed, listen };
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

function Work({
  data,
  client,
  act,
  onRestore,
  streamed,
}: {
  data: Data;
  client: Client;
  act: Act;
  onRestore: (b: Backup) => void;
  streamed: Record<string, number>;
}) {
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
          // The stream's figure wins: it is newer than the last poll whenever the stream is open.
          const s = streamed[b.id];
          return (
            <li key={b.id} data-backup={b.name ?? b.id} data-status={b.status} data-via={s !== undefined ? 'stream' : 'poll'}>
              Backup {b.name ?? b.id.slice(0, 8)} of {volName(b.volume_id)}: {RUNNING_BACKUP.has(b.status) ? b.status : `finished (${b.status})`}
              {/* The byte count comes from the last poll: beside a bar the stream moves, only the total is current. */}
              {p ? (s !== undefined ? ` (${bytes(p.bytes_total)})` : ` (${bytes(p.bytes_done)} of ${bytes(p.bytes_total)})`) : ''}{' '}
              <Bar value={s !== undefined ? s / 100 : (p?.fraction ?? 0)} label={`progress of ${b.name ?? b.id}`} />
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

function Repository({ client, live, listen }: { client: Client; live: boolean; listen: (l: Listener) => () => void }) {
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
  // A job's progress comes on the stream and moves its bar in place; its end (or a finished backup, which changes
  // the numbers) reloads the panel.
  useEffect(
    () =>
      listen((e) => {
        if (e.type === 'repo-job' && e.status === 'running') {
          setJobs((js) => js && js.map((j) => (j.id === e.id ? { ...j, progress: Math.max(j.progress, e.progress ?? 0) } : j)));
        } else if (e.type === 'repo-job' || (e.type === 'backup' && (e.status === 'available' || e.status === 'deleted'))) {
          void load();
        }
      }),
    [listen, load],
  );
  const jobRunning = jobs?.some((j) => j.status === 'running') ?? false;
  // Polling stands in while the stream is down, and checks slowly beside it in case an event was lost.
  useEffect(() => {
    if (!jobRunning) return;
    const t = setTimeout(() => void load(), live ? 5000 : 1000);
    return () => clearTimeout(t);
  }, [jobs, jobRunning, live, load]);

  const start = async (kind: 'verify' | 'gc') => {
    setError(null);
    setResult(null);
    setBusy(true);
    try {
      const job = await client.startRepoJob(kind, {});
      if (job === null) {
        // No jobs route on this server: the synchronous call answers when the work is done.
        setResult(maintenanceInWords(kind, await client.runRepoNow(kind, {})));
      } else {
        setJobs((js) => [job, ...(js ?? []).filter((j) => j.id !== job.id)]);
      }
      await load();
    } catch (e) {
      setError(say(e));
    } finally {
      setBusy(false);
    }
  };
  const saved = stats && stats.logical_bytes > 0 ? Math.max(0, 1 - stats.stored_bytes / stats.logical_bytes) : 0;
  const lv = stats?.last_verify;
  return (
    <section aria-labelledby="repo-title">
      <h1 id="repo-title">Repository</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {stats === null && <p>This server does not report repository statistics.</p>}
      {stats && (
        <>
          <ul class="counts" data-testid="repo-stats" data-logical={stats.logical_bytes} data-stored={stats.stored_bytes} data-chunks={stats.chunk_count}>
            <li>
              <b>{bytes(stats.logical_bytes)}</b> backed up
            </li>
            <li>
              <b>{bytes(stats.stored_bytes)}</b> stored
            </li>
            <li>
              <b data-testid="repo-saved">{Math.round(saved * 100)} %</b> saved by dedup and compression ({bytes(Math.max(0, stats.logical_bytes - stats.stored_bytes))})
            </li>
            <li>
              <b>{stats.chunk_count}</b> chunks, <b>{stats.backup_count}</b> backups
            </li>
          </ul>
          <p class="savings" aria-hidden="true">
            <span style={{ width: `${stats.logical_bytes > 0 ? Math.min(100, (stats.stored_bytes / stats.logical_bytes) * 100) : 0}%` }} />
          </p>
          <p data-testid="last-verify">
            Last verify of {stats.target} ({stats.driver}):{' '}
            {lv ? (
              <>
                <b class={lv.ok ? 'good' : 'bad'}>{lv.ok ? 'ok' : `${lv.errors} errors`}</b> {age(lv.at, Date.now())}, {lv.checked} {lv.full ? 'chunks read and hashed' : 'chunks checked'}
                {lv.message ? ` (${lv.message})` : ''}
              </>
            ) : (
              'never'
            )}
            {stats.last_gc && (
              <>
                ; last garbage collection {age(stats.last_gc.at, Date.now())} freed {bytes(stats.last_gc.freed_bytes)} ({stats.last_gc.removed_chunks} chunks)
              </>
            )}
            .
          </p>
        </>
      )}
      <div class="buttons">
        <button disabled={busy || jobRunning} onClick={() => void start('verify')}>
          Verify repository
        </button>
        <button disabled={busy || jobRunning} onClick={() => void start('gc')}>
          Collect garbage
        </button>
        {busy && <span role="status">Starting…</span>}
      </div>
      {result && (
        <p class="result" role="status">
          {result}
        </p>
      )}
      {jobs && jobs.length > 0 && (
        <ul class="running" data-testid="repo-jobs">
          {jobs.slice(0, 5).map((j) => (
            <li key={j.id} data-job={j.kind} data-status={j.status}>
              {j.kind === 'verify' ? 'Verify' : 'Garbage collection'} on {j.target}, started {age(j.started_at, Date.now())}: {j.status}{' '}
              <Bar value={j.progress / 100} label={`${j.kind} progress`} />{' '}
              <span class="job-result">{j.error ?? (j.status === 'succeeded' ? maintenanceInWords(j.kind, j.result) : '')}</span>
            </li>
          ))}
        </ul>
      )}
      {history && (history.samples.length > 0 || stats) && <Chart history={history} now={stats ?? null} />}
    </section>
  );
}

/** A time on the chart's axis: with seconds when the chart spans less than an hour. */
function tick(ms: number, span: number): string {
  return span < 3600000 ? `${new Date(ms).toISOString().slice(11, 19)} UTC` : utc(ms);
}

/** Stored (and logical) bytes over time as lines, each finished backup's throughput as a bar beneath them. */
function Chart({ history, now }: { history: RepoHistory; now: RepoStats | null }) {
  const w = 600;
  const h = 180;
  const top = 10;
  const plot = 110; // height of the bytes area; the throughput bars sit under it
  // Samples are taken now and then; the counters as they are now end the lines.
  const samples = now
    ? [...history.samples, { at: new Date().toISOString(), logical_bytes: now.logical_bytes, stored_bytes: now.stored_bytes, chunk_count: now.chunk_count }]
    : history.samples;
  const times = [...samples.map((s) => parseTime(s.at)), ...history.backups.map((b) => parseTime(b.finished_at))];
  const t0 = Math.min(...times);
  const t1 = Math.max(t0 + 1000, ...times);
  const yMax = Math.max(1, ...samples.map((s) => Math.max(s.stored_bytes, s.logical_bytes)));
  const x = (t: number) => 30 + ((t - t0) / (t1 - t0)) * (w - 40);
  const y = (v: number) => top + plot - (v / yMax) * plot;
  const path = (pick: (s: RepoHistory['samples'][number]) => number) => {
    // One sample is a level line from it to the right edge, so a fresh repository still draws something.
    const pts = samples.map((s) => [x(parseTime(s.at)), y(pick(s))] as const);
    if (pts.length === 1) pts.push([w - 10, pts[0]![1]]);
    return pts.map(([px, py], i) => `${i ? 'L' : 'M'}${px.toFixed(1)},${py.toFixed(1)}`).join(' ');
  };
  const tpMax = Math.max(1, ...history.backups.map((b) => b.bytes_per_second));
  const tpBase = h - 14;
  return (
    <figure data-testid="repo-chart" class="chart">
      <svg viewBox={`0 0 ${w} ${h}`} width="100%" role="img" aria-label="Stored bytes and backup throughput over time">
        <line x1="30" y1={top + plot} x2={w - 10} y2={top + plot} class="axis" />
        <line x1="30" y1={tpBase} x2={w - 10} y2={tpBase} class="axis" />
        <path d={path((s) => s.logical_bytes)} class="line logical" />
        <path d={path((s) => s.stored_bytes)} class="line" />
        {history.backups.map((b) => {
          const bh = Math.max(2, (b.bytes_per_second / tpMax) * 36);
          return <rect key={b.id} x={Math.max(30, x(parseTime(b.finished_at)) - 3)} y={tpBase - bh} width="6" height={bh} class="tp" />;
        })}
        <text x="30" y={h - 2} class="tick">
          {tick(t0, t1 - t0)}
        </text>
        <text x={w - 10} y={h - 2} class="tick" text-anchor="end">
          {tick(t1, t1 - t0)}
        </text>
      </svg>
      <figcaption>
        Stored bytes (solid line) beside logical bytes (dashed), up to {bytes(yMax)}; each backup's throughput (bars, up to {bytes(tpMax)}/s).
      </figcaption>
    </figure>
  );
}

render(<App />, document.getElementById('app')!);
