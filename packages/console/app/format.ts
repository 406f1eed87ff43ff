/** Pure formatting and schedule arithmetic, kept free of the DOM so node's test runner can check it. */

/** Cinder writes times without a zone ("2026-12-07T08:00:00.000000"); they are UTC. */
export function parseTime(s: string): number {
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`);
}

export function age(fromIso: string, now: number): string {
  const s = Math.max(0, Math.round((now - parseTime(fromIso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

const DAYS: Record<string, [number, string]> = {
  SU: [0, 'Sunday'],
  MO: [1, 'Monday'],
  TU: [2, 'Tuesday'],
  WE: [3, 'Wednesday'],
  TH: [4, 'Thursday'],
  FR: [5, 'Friday'],
  SA: [6, 'Saturday'],
};

export interface Rule {
  freq: 'DAILY' | 'WEEKLY';
  interval: number;
  days: number[];
  hours: number[];
  minutes: number[];
}

/** The RRULE subset CBR policies use (FREQ, INTERVAL, BYDAY, BYHOUR, BYMINUTE); null for anything else. */
export function parseRule(pattern: string): Rule | null {
  const parts = new Map<string, string>();
  for (const p of pattern.replace(/^RRULE:/i, '').split(';')) {
    const [k, v] = p.split('=');
    if (k && v !== undefined) parts.set(k.toUpperCase(), v.toUpperCase());
  }
  const freq = parts.get('FREQ');
  if (freq !== 'DAILY' && freq !== 'WEEKLY') return null;
  const nums = (k: string, dflt: number[]) => (parts.has(k) ? parts.get(k)!.split(',').map(Number) : dflt);
  const days = parts.has('BYDAY') ? parts.get('BYDAY')!.split(',').map((d) => DAYS[d]?.[0] ?? -1) : [];
  if (days.includes(-1)) return null;
  const rule: Rule = { freq, interval: Number(parts.get('INTERVAL') ?? 1), days, hours: nums('BYHOUR', [0]), minutes: nums('BYMINUTE', [0]) };
  if (![rule.interval, ...rule.hours, ...rule.minutes].every(Number.isInteger)) return null;
  return rule;
}

const two = (n: number) => String(n).padStart(2, '0');

/** "every day at 02:00", "every Monday and Friday at 01:30", "every 2 days at 03:00" (times are UTC). */
export function scheduleInWords(pattern: string): string {
  const r = parseRule(pattern);
  if (!r) return pattern;
  const times = r.hours.flatMap((h) => r.minutes.map((m) => `${two(h)}:${two(m)}`)).sort();
  const at = `at ${list(times)} UTC`;
  if (r.freq === 'WEEKLY' || r.days.length > 0) {
    const names = [...r.days].sort().map((d) => Object.values(DAYS).find(([n]) => n === d)![1]);
    const every = r.interval > 1 ? `every ${r.interval} weeks on` : 'every';
    return `${every} ${names.length ? list(names) : 'week'} ${at}`;
  }
  return `${r.interval > 1 ? `every ${r.interval} days` : 'every day'} ${at}`;
}

function list(xs: string[]): string {
  if (xs.length <= 1) return xs.join('');
  return `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

/** Retention in words: "keep 7", "keep 30 days", "keep all". */
export function retentionInWords(def: { max_backups?: number; retention_duration_days?: number }): string {
  if (def.max_backups !== undefined && def.max_backups > 0) return `keep ${def.max_backups}`;
  if (def.retention_duration_days !== undefined && def.retention_duration_days > 0) return `keep ${def.retention_duration_days} days`;
  return 'keep all';
}

/**
 * The next time (ms) after `now` any of the patterns fires, searching minute slots day by day for two weeks (an
 * INTERVAL above 1 is counted from the Unix epoch's day or week: the server anchors it the same way only when the
 * policy has no start time, so for those this is the earliest candidate).
 */
export function nextRun(patterns: string[], now: number): number | null {
  let best: number | null = null;
  for (const p of patterns) {
    const r = parseRule(p);
    if (!r) continue;
    const day0 = Math.floor(now / 86400000);
    for (let d = 0; d <= 7 * Math.max(2, r.interval + 1); d++) {
      const day = day0 + d;
      const weekday = (day + 4) % 7; // 1970-01-01 was a Thursday
      if (r.days.length && !r.days.includes(weekday)) continue;
      if (r.interval > 1 && (r.freq === 'WEEKLY' ? Math.floor((day + 3) / 7) : day) % r.interval !== 0) continue;
      for (const h of r.hours)
        for (const m of r.minutes) {
          const t = day * 86400000 + h * 3600000 + m * 60000;
          if (t > now && (best === null || t < best)) best = t;
        }
      if (best !== null && best < (day + 1) * 86400000) break;
    }
  }
  return best;
}

export function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Backup statuses during which bytes move. */
export const RUNNING_BACKUP = new Set(['creating', 'restoring', 'deleting']);
export const RUNNING_SNAPSHOT = new Set(['creating', 'deleting']);
export const RUNNING_VOLUME = new Set(['creating', 'restoring-backup', 'downloading', 'deleting', 'extending', 'backing-up']);

/**
 * A verify or gc report in one sentence. Accepts the synchronous routes' bodies (`{"verify": …}`, `{"gc": …}`)
 * and a job's `result` (the inner object).
 */
export function maintenanceInWords(kind: 'verify' | 'gc', body: Record<string, unknown> | null): string {
  if (!body) return `${kind === 'verify' ? 'Verify' : 'Garbage collection'} finished.`;
  const r = (body[kind] ?? body) as Record<string, unknown>;
  const n = (k: string) => (typeof r[k] === 'number' ? (r[k] as number) : 0);
  const target = typeof r.target === 'string' ? ` on ${r.target}` : '';
  if (kind === 'verify') {
    const problems = Array.isArray(r.problems) ? (r.problems as { message?: string }[]) : [];
    const head = `Verify${target}: ${r.ok ? 'ok' : 'FAILED'}, ${n('manifests')} manifests and ${n('chunks')} chunks (${bytes(n('bytes'))}) checked`;
    if (!problems.length) return `${head}, no problems.`;
    const first = problems[0]?.message ? `: ${problems[0].message}` : '';
    return `${head}, ${problems.length} problem${problems.length > 1 ? 's' : ''}${first}.`;
  }
  const verb = r.dry_run ? 'would remove' : 'removed';
  return `Garbage collection${target}: ${verb} ${n('deleted')} of ${n('chunks')} chunks (${bytes(n('deleted_bytes'))}), kept ${n('kept_in_grace')} in their grace period.`;
}
