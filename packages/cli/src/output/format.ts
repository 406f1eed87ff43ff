import Table from 'cli-table3';
import { stringify as toYaml } from 'yaml';
import { UsageError } from '../runtime/errors.js';

/** Output formats of list and show commands (cliff's `-f`). */
export const OUTPUT_FORMATS = ['table', 'json', 'yaml', 'value'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface FormatOptions {
  format: OutputFormat;
  /** `-c COLUMN` selections (header names, as shown); empty or undefined = all. */
  columns?: readonly string[] | undefined;
  /** Colour the table headers (only when stdout is a terminal). */
  colour?: boolean | undefined;
}

/** A list: ordered headers and one array of values per row. */
export interface ListData {
  headers: readonly string[];
  rows: ReadonlyArray<readonly unknown[]>;
}

/** OSC's ASCII borders: scripts and people who grep `| ID |` get the same shape as `openstack … list`. */
const ASCII = {
  top: '-',
  'top-mid': '+',
  'top-left': '+',
  'top-right': '+',
  bottom: '-',
  'bottom-mid': '+',
  'bottom-left': '+',
  'bottom-right': '+',
  left: '|',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '|',
  'right-mid': '',
  middle: '|',
};

/**
 * A value as a person reads it (table and value formats), following cliff/OSC: null → None,
 * booleans → True/False, a map → `k='v', k2='v2'`, a list of scalars → `a, b`.
 */
export function humanValue(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return value.map(humanValue).join(', ');
    return JSON.stringify(value);
  }
  if (typeof value === 'object') {
    return Object.keys(value)
      .sort()
      .map((k) => `${k}=${quote((value as Record<string, unknown>)[k])}`)
      .join(', ');
  }
  return String(value);
}

function quote(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return humanValue(v);
}

/** Machine formats keep the real value; undefined becomes null so every column is present. */
function machineValue(value: unknown): unknown {
  return value === undefined ? null : value;
}

/** Indices of the selected columns, in the table's own order (as cliff does). Unknown names are a usage error. */
export function selectColumns(headers: readonly string[], wanted: readonly string[] | undefined): number[] {
  if (!wanted || wanted.length === 0) return headers.map((_, i) => i);
  const unknown = wanted.filter((w) => !headers.includes(w));
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `'${u}'`).join(', ')}; available: ${headers.join(', ')}`,
    );
  }
  return headers.flatMap((h, i) => (wanted.includes(h) ? [i] : []));
}

/**
 * A bordered table like prettytable's: a rule under the header and none between rows (cli-table3 draws
 * either all row rules or none, so the header rule is added here). Numeric columns are right-aligned.
 */
const ESC = String.fromCharCode(27);

function table(head: string[], rows: string[][], colour: boolean, numeric: boolean[] = []): string {
  // Colour is applied here rather than through cli-table3's style, whose colour library turns itself off
  // by its own environment checks (CI=true, no TTY) even when the caller decided a terminal wants it.
  const t = new Table({
    head: colour ? head.map((h) => `${ESC}[36m${h}${ESC}[39m`) : head,
    chars: ASCII,
    colAligns: head.map((_, i) => (numeric[i] ? 'right' : 'left')),
    style: {
      head: [],
      border: [],
      'padding-left': 1,
      'padding-right': 1,
    },
  });
  for (const r of rows) t.push(r);
  const lines = t.toString().split('\n');
  const rule = lines[0] ?? '';
  // The header may wrap over several lines; it ends at the first line after the top rule that starts a row.
  const headerLines = Math.max(1, ...head.map((h) => h.split('\n').length));
  lines.splice(1 + headerLines, 0, rule);
  return `${lines.join('\n')}\n`;
}

/**
 * Renders a list (`… list`). Empty lists print nothing in table and value formats, `[]` in json.
 *
 * @example
 * formatList({ headers: ['ID', 'Name'], rows: [['1', 'a']] }, { format: 'value' }) // '1 a\n'
 */
export function formatList(data: ListData, opts: FormatOptions): string {
  const idx = selectColumns(data.headers, opts.columns);
  const headers = idx.map((i) => data.headers[i] as string);
  const pick = (row: readonly unknown[]) => idx.map((i) => row[i]);
  switch (opts.format) {
    case 'json':
    case 'yaml': {
      const objects = data.rows.map((row) => {
        const values = pick(row);
        return Object.fromEntries(headers.map((h, i) => [h, machineValue(values[i])]));
      });
      return opts.format === 'json'
        ? `${JSON.stringify(objects, null, 2)}\n`
        : objects.length
          ? toYaml(objects)
          : '[]\n';
    }
    case 'value':
      return data.rows.map((row) => `${pick(row).map(humanValue).join(' ')}\n`).join('');
    case 'table':
      if (data.rows.length === 0) return '';
      return table(
        headers,
        data.rows.map((row) => pick(row).map(humanValue)),
        opts.colour ?? false,
        idx.map((i) => data.rows.every((r) => typeof r[i] === 'number')),
      );
  }
}

/**
 * Renders one resource (`… show`, `… create`) as Field/Value pairs, in the record's key order.
 *
 * @example
 * formatShow({ id: '1', size: 1 }, { format: 'json' }) // '{\n  "id": "1",\n  "size": 1\n}\n'
 */
export function formatShow(record: Readonly<Record<string, unknown>>, opts: FormatOptions): string {
  const keys = Object.keys(record);
  const idx = selectColumns(keys, opts.columns);
  const fields = idx.map((i) => keys[i] as string);
  switch (opts.format) {
    case 'json':
      return `${JSON.stringify(Object.fromEntries(fields.map((f) => [f, machineValue(record[f])])), null, 2)}\n`;
    case 'yaml':
      return toYaml(Object.fromEntries(fields.map((f) => [f, machineValue(record[f])])));
    case 'value':
      return fields.map((f) => `${humanValue(record[f])}\n`).join('');
    case 'table':
      return table(
        ['Field', 'Value'],
        fields.map((f) => [f, humanValue(record[f])]),
        opts.colour ?? false,
      );
  }
}

/** Sorts a record's keys (OSC's show order) and returns a new record. */
export function sortedRecord(record: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((k) => [k, record[k]]),
  );
}
