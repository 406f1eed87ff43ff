import { invalid } from './errors.js';

/**
 * The RRULE subset of CBR policy triggers (RFC 2445 words FREQ=DAILY|WEEKLY, BYDAY, BYHOUR, BYMINUTE, INTERVAL),
 * in UTC. INTERVAL counts days (DAILY) or Monday-based weeks (WEEKLY) from the trigger's start time.
 */
export interface Rule {
  freq: 'DAILY' | 'WEEKLY';
  interval: number;
  /** Days of week (0 = Sunday) for WEEKLY; every day for DAILY. */
  days: Set<number>;
  /** Minutes of the day, sorted. */
  minutes: number[];
}

export const MAX_TIMES_PER_DAY = 24;
const MIN_SPACING_MINUTES = 60;
const DAY_MS = 86_400_000;
const WEEKDAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'];

function intList(key: string, value: string, min: number, max: number, pattern: string): number[] {
  const out: number[] = [];
  for (const part of value.split(',')) {
    if (!/^\d{1,2}$/.test(part)) throw invalid(`Invalid ${key} "${value}" in trigger pattern "${pattern}".`);
    const n = Number(part);
    if (n < min || n > max) throw invalid(`${key} must be ${min}-${max} in trigger pattern "${pattern}".`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

/** One rule's grammar (its length and the list's size are the contract's: `trigger.properties.pattern`). */
export function parseRule(pattern: string): Rule {
  const body = pattern.startsWith('RRULE:') ? pattern.slice(6) : pattern;
  const parts = new Map<string, string>();
  for (const item of body.split(';')) {
    const m = /^([A-Z]+)=(.+)$/.exec(item);
    if (!m) throw invalid(`Malformed trigger pattern "${pattern}": expected KEY=VALUE items separated by ';'.`);
    const [, key, value] = m as unknown as [string, string, string];
    if (!['FREQ', 'BYDAY', 'BYHOUR', 'BYMINUTE', 'INTERVAL'].includes(key))
      throw invalid(`Trigger pattern "${pattern}": ${key} is not supported (use FREQ, BYDAY, BYHOUR, BYMINUTE, INTERVAL).`);
    if (parts.has(key)) throw invalid(`Trigger pattern "${pattern}" repeats ${key}.`);
    parts.set(key, value);
  }
  const freq = parts.get('FREQ');
  if (freq !== 'DAILY' && freq !== 'WEEKLY') throw invalid(`Trigger pattern "${pattern}": FREQ must be DAILY or WEEKLY.`);
  for (const k of ['BYHOUR', 'BYMINUTE'])
    if (!parts.has(k)) throw invalid(`Trigger pattern "${pattern}" must set ${k}.`);
  const hours = intList('BYHOUR', parts.get('BYHOUR')!, 0, 23, pattern);
  const mins = intList('BYMINUTE', parts.get('BYMINUTE')!, 0, 59, pattern);
  const interval = parts.has('INTERVAL') ? intList('INTERVAL', parts.get('INTERVAL')!, 1, 30, pattern) : [1];
  if (interval.length !== 1) throw invalid(`Trigger pattern "${pattern}": INTERVAL takes one value.`);
  let days: Set<number>;
  if (freq === 'WEEKLY') {
    const byday = parts.get('BYDAY');
    if (!byday) throw invalid(`Trigger pattern "${pattern}": FREQ=WEEKLY needs BYDAY.`);
    days = new Set();
    for (const d of byday.split(',')) {
      const i = WEEKDAYS.indexOf(d);
      if (i < 0) throw invalid(`Trigger pattern "${pattern}": BYDAY values are MO,TU,WE,TH,FR,SA,SU.`);
      days.add(i);
    }
  } else {
    if (parts.has('BYDAY')) throw invalid(`Trigger pattern "${pattern}": BYDAY needs FREQ=WEEKLY.`);
    days = new Set([0, 1, 2, 3, 4, 5, 6]);
  }
  const minutes = hours.flatMap((h) => mins.map((m) => h * 60 + m)).sort((a, b) => a - b);
  return { freq, interval: interval[0]!, days, minutes };
}

/** Validates a policy's pattern list: count, time points per day and their spacing (≥ 1 h, across midnight too). */
export function parseRules(patterns: readonly string[]): Rule[] {
  const rules = patterns.map(parseRule);
  const points = [...new Set(rules.flatMap((r) => r.minutes))].sort((a, b) => a - b);
  if (points.length > MAX_TIMES_PER_DAY)
    throw invalid(`A policy may run at most ${MAX_TIMES_PER_DAY} times per day.`);
  for (let i = 0; i < points.length; i++) {
    const next = i + 1 < points.length ? points[i + 1]! : points[0]! + 1440;
    if (points.length > 1 && next - points[i]! < MIN_SPACING_MINUTES)
      throw invalid('Backup times of a policy must be at least one hour apart.');
  }
  return rules;
}

function dayIndex(t: number): number {
  return Math.floor(t / DAY_MS);
}

/** Monday-based week number (1970-01-01 was a Thursday, so day 4 is the first Monday). */
function weekIndex(day: number): number {
  return Math.floor((day - 4) / 7);
}

function firesOn(rule: Rule, day: number, anchorDay: number): boolean {
  if (day < anchorDay) return false;
  const dow = (day + 4) % 7;
  if (!rule.days.has(dow)) return false;
  if (rule.freq === 'DAILY') return (day - anchorDay) % rule.interval === 0;
  return (weekIndex(day) - weekIndex(anchorDay)) % rule.interval === 0;
}

/** The first trigger time strictly after `after` (and not before `anchor`), or null if none within a year. */
export function nextFire(rules: Rule[], anchor: Date, after: Date): Date | null {
  const anchorMs = anchor.getTime();
  const from = Math.max(after.getTime(), anchorMs - 1);
  const anchorDay = dayIndex(anchorMs);
  const first = dayIndex(from);
  for (let day = first; day < first + 400; day++) {
    let best: number | null = null;
    for (const r of rules) {
      if (!firesOn(r, day, anchorDay)) continue;
      for (const m of r.minutes) {
        const t = day * DAY_MS + m * 60_000;
        if (t > from && (best === null || t < best)) {
          best = t;
          break;
        }
      }
    }
    if (best !== null) return new Date(best);
  }
  return null;
}

/**
 * Trigger times in (`from` - 1 ms, `now`]: the slot to run now (the latest) and how many earlier ones were
 * missed. `from` is the stored next_run_at; counting stops at `cap` to bound the work after a long outage.
 */
export function dueSlots(
  rules: Rule[],
  anchor: Date,
  from: Date,
  now: Date,
  cap = 10_000,
): { slot: Date; missed: number; next: Date | null } | null {
  if (from.getTime() > now.getTime()) return null;
  let slot = from;
  let missed = 0;
  let next = nextFire(rules, anchor, slot);
  while (next !== null && next.getTime() <= now.getTime() && missed < cap) {
    slot = next;
    missed++;
    next = nextFire(rules, anchor, slot);
  }
  while (next !== null && next.getTime() <= now.getTime()) next = nextFire(rules, anchor, next);
  return { slot, missed, next };
}
