/**
 * bench/backup's throughput tables: one row per tool and volume, the ratios to the anchors the issue asks for,
 * and the S3 rows beside their filesystem rows with the targets' verdicts.
 */
import { GiB, MiB } from './measure.js';
import { args, S3_ENV, SIZE, type Target, TARGETS } from './options.js';

/** Requests (S3: HTTP, fs: object-store calls) and objects written by one phase. */
interface Traffic {
  requests: number;
  objects: number;
}

export interface Row {
  tool: string;
  target?: Target;
  traffic?: { full: Traffic; incr: Traffic; restore: Traffic };
  /** S3 rows: what the server alone takes and gives, 4 MiB objects, as many in flight as the repository keeps. */
  s3Ceiling?: { putMiBs: number; getMiBs: number };
  volume: string;
  fullS: number;
  fullMiBs: number;
  dataMiBs: number;
  storedMiB: number;
  incrS: number;
  /** cinderbox rows: the incremental without changed extents (read every allocated chunk, like the anchors). */
  incrScanS?: number;
  incrStoredMiB: number;
  restoreS: number;
  restoreMiBs: number;
  /** CPU seconds (user+sys, whole process incl. worker threads; children for anchors) per GiB of data / of size. */
  fullCpuPerGiB: number;
  restoreCpuPerGiB: number;
  rssMiB: number;
  ok: string;
  /** What the disk allows for this full backup: the source read and the stored bytes written at once (cinderbox rows). */
  ceilingMiBs?: number;
}

export function printTable(rows: Row[]): void {
  const head = [
    'tool',
    'volume',
    'full s',
    'full MiB/s',
    'disk ceiling',
    'data MiB/s',
    'stored MiB',
    'incr s',
    'incr/full',
    'incr scan s',
    'scan/full',
    'restore s',
    'restore MiB/s',
    'full CPU s/GiB',
    'restore CPU s/GiB',
    'peak RSS MiB',
    'check',
  ];
  const body = rows.map((r) => [
    r.tool,
    r.volume,
    r.fullS.toFixed(2),
    r.fullMiBs.toFixed(0),
    r.ceilingMiBs === undefined ? '-' : r.ceilingMiBs.toFixed(0),
    r.dataMiBs.toFixed(0),
    r.storedMiB.toFixed(0),
    r.incrS.toFixed(2),
    `${((100 * r.incrS) / r.fullS).toFixed(1)} %`,
    r.incrScanS === undefined ? '-' : r.incrScanS.toFixed(2),
    r.incrScanS === undefined ? '-' : `${((100 * r.incrScanS) / r.fullS).toFixed(1)} %`,
    r.restoreS.toFixed(2),
    r.restoreMiBs.toFixed(0),
    r.fullCpuPerGiB.toFixed(2),
    r.restoreCpuPerGiB.toFixed(2),
    Number.isNaN(r.rssMiB) ? '-' : r.rssMiB.toFixed(0),
    r.ok,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(
    `\nvolume size ${SIZE / MiB} MiB; "data MiB/s" counts non-hole bytes; incremental = 1 % of chunks changed ` +
      '(cinderbox "incr": the changed extents given, as the CBT drivers do; "incr scan": every allocated chunk read ' +
      'and compared, as without CBT and as restic and borg do); ' +
      'CPU = user+sys of the process incl. worker threads, per GiB of data (full) / of volume size (restore); ' +
      'peak RSS of a cinderbox row is the process peak during that row (VmHWM reset before it, workers included); ' +
      '"disk ceiling" = volume size / time to read the source and write the stored bytes concurrently with dd (O_DIRECT)',
  );
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const b of body) console.log(line(b));
}

/** The issue asks for the ratio to each anchor as a figure: cinderbox's speed over the anchor's, same volume. */
export function printRatios(rows: Row[]): void {
  const x = (a: number, b: number) => `${(a / b).toFixed(1)}×`;
  const lines: string[] = [];
  for (const anchor of rows.filter((r) => !r.tool.startsWith('cinderbox'))) {
    for (const r of rows.filter((c) => c.tool.startsWith('cinderbox') && c.volume === anchor.volume)) {
      lines.push(
        `${r.tool} vs ${anchor.tool} on ${r.volume}: full ${x(anchor.fullS, r.fullS)}, incremental ${x(anchor.incrS, r.incrS)}` +
          (r.incrScanS === undefined ? '' : ` (${x(anchor.incrS, r.incrScanS)} without changed extents)`) +
          ', ' +
          `restore ${x(anchor.restoreS, r.restoreS)} faster; stored ${(r.storedMiB / anchor.storedMiB).toFixed(2)}× ${anchor.tool}'s bytes`,
      );
    }
  }
  if (lines.length > 0) console.log(`\n${lines.join('\n')}`);
}

/** The S3 rows beside their fs rows: throughput, objects written, requests per GiB of volume, and the targets. */
export function printTargets(rows: Row[]): void {
  if (!TARGETS.includes('s3')) return;
  const head = [
    'volume',
    'compression',
    'target',
    'full MiB/s',
    'full objects',
    'full req/GiB',
    'incr s',
    'incr/full',
    'incr objects',
    'incr req/GiB',
    'restore MiB/s',
    'restore req/GiB',
    'peak RSS MiB',
    'S3 PUT/GET ceiling MiB/s',
    'check',
  ];
  const perGiB = (n: number) => (n / (SIZE / GiB)).toFixed(0);
  const body: string[][] = [];
  const verdicts: string[] = [];
  for (const r of rows) {
    if (!r.traffic || !r.target) continue;
    body.push([
      r.volume,
      r.tool.split(' ')[1] ?? '',
      r.target,
      r.fullMiBs.toFixed(0),
      String(r.traffic.full.objects),
      perGiB(r.traffic.full.requests),
      r.incrS.toFixed(2),
      `${((100 * r.incrS) / r.fullS).toFixed(1)} %`,
      String(r.traffic.incr.objects),
      perGiB(r.traffic.incr.requests),
      r.restoreMiBs.toFixed(0),
      perGiB(r.traffic.restore.requests),
      r.rssMiB.toFixed(0),
      r.s3Ceiling ? `${r.s3Ceiling.putMiBs.toFixed(0)} / ${r.s3Ceiling.getMiBs.toFixed(0)}` : '-',
      r.ok,
    ]);
    if (r.target !== 's3') continue;
    const fs = rows.find((f) => f.target === 'fs' && f.volume === r.volume && f.tool.split(' ')[1] === r.tool.split(' ')[1]);
    if (!fs) continue;
    const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(0)} %`;
    const mark = (ok: boolean) => (ok ? 'met' : 'NOT met');
    verdicts.push(
      `${r.volume} ${r.tool.split(' ')[1]}: full S3/fs ${pct(r.fullMiBs, fs.fullMiBs)} (target ≥ 70 %: ${mark(r.fullMiBs >= 0.7 * fs.fullMiBs)}), ` +
        `incr/full on S3 ${pct(r.incrS, r.fullS)} (≤ 25 %: ${mark(r.incrS <= 0.25 * r.fullS)}), ` +
        `restore S3/fs ${pct(r.restoreMiBs, fs.restoreMiBs)} (≥ 70 %: ${mark(r.restoreMiBs >= 0.7 * fs.restoreMiBs)}), ` +
        `peak RSS ${r.rssMiB.toFixed(0)} MiB (≤ 300: ${mark(r.rssMiB <= 300)})`,
    );
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(
    `\nS3 (${S3_ENV.endpoint}) beside the filesystem, volume size ${SIZE / MiB} MiB; req/GiB per GiB of volume size ` +
      '(S3: HTTP requests incl. retries, counted in the client; fs: object-store calls); objects = objects created; ' +
      'S3 ceiling = the server alone, 4 MiB objects, as many requests in flight as the repository, right after the row; ' +
      `chunk index ${args['no-index'] ? 'off' : 'on'}`,
  );
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const b of body) console.log(line(b));
  if (verdicts.length > 0) console.log(`\n${verdicts.join('\n')}`);
}
