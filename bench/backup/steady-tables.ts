/**
 * bench/backup's steadiness tables: per tool, MiB/s per run against the median and the targets, and the restores
 * by where the repository lives (same disk, separate device) against the disk's write probes.
 */
import { median, MiB } from './measure.js';
import { DIR, REPO_DIR, SIZE } from './options.js';
import type { SteadyRun } from './steadiness.js';

/** The same-disk and the --repo-dir restores of one tool side by side, each against its own write probes. */
function layoutRows(name: string, tool: string, rs: SteadyRun[]): string[] {
  const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
  const same = rs.map((r) => ({ mibs: r.restoreMiBs ?? 0, disk: r.diskWriteMiBs ?? 0 }));
  const ceiling = median(rs.map((r) => r.restoreCeilingMiBs ?? 0));
  const out = [
    [
      name,
      tool,
      'same disk',
      same.map((r) => r.mibs.toFixed(0)).join(' '),
      median(same.map((r) => r.mibs)).toFixed(0),
      same.map((r) => r.disk.toFixed(0)).join(' '),
      same.map((r) => pct(r.mibs / r.disk)).join(' '),
      pct(median(same.map((r) => r.mibs / r.disk))),
      ceiling.toFixed(0),
      pct(median(same.map((r) => r.mibs)) / ceiling),
      median(rs.map((r) => r.restoreCpuPerGiB ?? 0)).toFixed(2),
      Math.max(...rs.map((r) => r.restoreRssMiB ?? 0)).toFixed(0),
    ],
  ];
  const seps = rs.flatMap((r) => (r.sep ? [r.sep] : []));
  if (seps.length > 0) {
    const disk = (r: (typeof seps)[number]) => (r.diskBefore + r.diskAfter) / 2;
    const ratio = median(seps.map((r) => r.restoreMiBs / disk(r)));
    out.push([
      name,
      tool,
      'separate device',
      seps.map((r) => r.restoreMiBs.toFixed(0)).join(' '),
      median(seps.map((r) => r.restoreMiBs)).toFixed(0),
      seps.map((r) => `${r.diskBefore.toFixed(0)}/${r.diskAfter.toFixed(0)}`).join(' '),
      seps.map((r) => pct(r.restoreMiBs / disk(r))).join(' '),
      `${pct(ratio)}${ratio >= 0.9 ? '' : ' (NOT ≥ 90)'}`,
      '-',
      '-',
      median(seps.map((r) => r.cpuPerGiB)).toFixed(2),
      Math.max(...seps.map((r) => r.rssMiB)).toFixed(0),
    ]);
  }
  return out.map((row) => `| ${row.join(' | ')} |`);
}

/** The steadiness table's rows for one volume, and its rows in the table of restores by repository location. */
export function steadyRows(name: string, results: Map<string, SteadyRun[]>): { lines: string[]; layoutLines: string[] } {
  const lines: string[] = [];
  const layoutLines: string[] = [];
  for (const [tool, rs] of results) {
    const full = rs.map((r) => r.fullMiBs);
    const med = median(full);
    const worst = Math.max(...full.map((x) => Math.abs(x - med) / med));
    const row = [
      name,
      tool,
      full.map((x) => x.toFixed(0)).join(' '),
      med.toFixed(0),
      `${((100 * (Math.min(...full) - med)) / med).toFixed(0)} / +${((100 * (Math.max(...full) - med)) / med).toFixed(0)} %`,
      worst <= 0.15 ? 'yes' : 'NO',
      tool.startsWith('cinderbox') ? (med >= 450 ? 'yes' : 'NO') : '-',
      median(rs.map((r) => r.cpuPerGiB)).toFixed(2),
      rs[0]?.fsyncsPerGiB === undefined ? '-' : median(rs.map((r) => r.fsyncsPerGiB ?? 0)).toFixed(0),
    ];
    const restores = rs.filter((r) => r.restoreMiBs !== undefined && r.diskWriteMiBs !== undefined);
    if (restores.length > 0) {
      const rMed = median(restores.map((r) => r.restoreMiBs ?? 0));
      const dMed = median(restores.map((r) => r.diskWriteMiBs ?? 0));
      row.push(
        restores.map((r) => (r.restoreMiBs ?? 0).toFixed(0)).join(' '),
        dMed.toFixed(0),
        `${((100 * rMed) / dMed).toFixed(0)} %${rMed >= 0.9 * dMed ? '' : ' (NOT ≥ 90)'}`,
        median(restores.map((r) => r.restoreCeilingMiBs ?? 0)).toFixed(0),
        `${((100 * rMed) / median(restores.map((r) => r.restoreCeilingMiBs ?? 0))).toFixed(0)} %`,
        median(restores.map((r) => r.restoreCpuPerGiB ?? 0)).toFixed(2),
        Math.max(...restores.map((r) => r.restoreRssMiB ?? 0)).toFixed(0),
      );
    } else row.push('-', '-', '-', '-', '-', '-', '-');
    row.push(rs.map((r) => r.load).join(' '));
    lines.push(`| ${row.join(' | ')} |`);
    if (restores.length > 0) layoutLines.push(...layoutRows(name, tool, restores));
  }
  return { lines, layoutLines };
}

export function printSteadiness(n: number, lines: string[], layoutLines: string[], details: string[]): void {
  console.log(
    `\nsteadiness: ${n} consecutive full backups per tool, volume size ${SIZE / MiB} MiB, fresh repository each, ` +
      'source cache dropped; MiB/s of volume size; spread = (min, max) vs the median, target every run within ' +
      '±15 %; CPU s/GiB of data (user+sys, workers incl.; anchors: the child process); fsyncs/GiB = chunk data ' +
      'syncs + directory syncs of the fs store per GiB of data; restore vs the disk\'s O_DIRECT write speed ' +
      '(dd 4 MiB + fdatasync, probed after each run), target ≥ 90 %; restore ceiling = the stored bytes read ' +
      '(O_DIRECT) while the data is written (O_DIRECT + fdatasync), concurrently, as a restore from a repository on ' +
      'the same disk must (not the target, shown beside it); restore CPU s/GiB of volume size (workers incl.), peak ' +
      'RSS of the restore; load = 1-min load average at each run',
  );
  console.log(
    '| volume | tool | full MiB/s per run | median | spread | ±15 % | ≥ 450 | CPU s/GiB | fsyncs/GiB | restore MiB/s per run | disk write MiB/s | restore/disk | restore ceiling MiB/s | restore/ceiling | restore CPU s/GiB | restore peak RSS MiB | load |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const l of lines) console.log(l);
  if (layoutLines.length > 0) {
    console.log(
      `\nrestore by where the repository lives: "same disk" = repository in ${DIR}, on the disk the restore writes ` +
        '(the restore reads the stored bytes while it writes: bound by the restore ceiling, not by the write probe; ' +
        'disk write = the probe after the run, as in the table above); "separate device" = a copy of the repository ' +
        `in ${REPO_DIR} (stands in for another disk or S3), so the disk only takes the writes; disk write = mean of ` +
        'the probes just before and just after that restore. restore/disk = median of the per-run ratios, target ' +
        '≥ 90 % for the separate device. Probes: dd if=/dev/zero bs=4M oflag=direct conv=fdatasync of the volume size.',
    );
    console.log(
      '| volume | tool | repository | restore MiB/s per run | median | disk write MiB/s per run | restore/disk per run | restore/disk (median) | restore ceiling MiB/s (median) | restore/ceiling | restore CPU s/GiB | restore peak RSS MiB |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const l of layoutLines) console.log(l);
  }
  console.log(`\nwhere the chunks' time went (ms per chunk, summed over chunks in flight):\n${details.join('\n')}`);
}
