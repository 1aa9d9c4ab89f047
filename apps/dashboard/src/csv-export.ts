/**
 * A job's metrics as one CSV file (RFC 4180), generated in the browser from `/metrics`: one row
 * per checkpoint and one per lease completion, told apart by the `kind` column, so a spreadsheet
 * or pandas can filter either.
 */
import type { JobMetrics } from './api.ts';

export const METRICS_CSV_COLUMNS = [
  'kind',
  'time_iso',
  'time_ms',
  'checkpoint_seq',
  'shards_done',
  'samples',
  'accuracy',
  'loss',
  'node_id',
  'counted',
] as const;

type Cell = string | number | boolean | null | undefined;

/** Quotes a field when it holds a comma, quote or line break; doubles quotes inside. */
export function csvField(value: Cell): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(cells: readonly Cell[]): string {
  return cells.map(csvField).join(',');
}

const iso = (ms: number): string => (Number.isFinite(ms) ? new Date(ms).toISOString() : '');

/**
 * `samplesAtShards` gives the samples trained by a checkpoint (counted completions before it);
 * checkpoint rows leave `samples` empty without it.
 */
export function metricsCsv(metrics: JobMetrics, samplesAtShards?: (shardsDone: number) => number): string {
  const lines: string[] = [csvRow(METRICS_CSV_COLUMNS)];
  for (const c of [...metrics.checkpoints].sort((a, b) => a.seq - b.seq)) {
    lines.push(
      csvRow([
        'checkpoint',
        iso(c.createdAt),
        c.createdAt,
        c.seq,
        c.shardsDone,
        samplesAtShards?.(c.shardsDone),
        c.accuracy,
        c.loss,
        null,
        null,
      ]),
    );
  }
  for (const p of metrics.training) {
    const counted = p.counted === true || p.counted === 1;
    lines.push(
      csvRow(['training', iso(p.t), p.t, null, null, p.samples, null, p.loss, p.nodeId, counted ? 1 : 0]),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
