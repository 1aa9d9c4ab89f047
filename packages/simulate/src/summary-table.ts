/** The run's summary as label/value rows: printed as a table on stdout and shown on the report page. */
import { REQUEST_BUCKETS_SECONDS } from '../../../server/src/metrics.ts';
import type { SimulationRecord } from './record.ts';

/** The resolution of the lease latency quantiles: the coordinator's histogram buckets. */
export const LATENCY_NOTE = `lease latency: the upper bound of the histogram bucket the quantile falls in (bounds ${REQUEST_BUCKETS_SECONDS.map((s) => String(s * 1000)).join(', ')} ms)`;

const grouped = (n: number): string => Math.round(n).toLocaleString('en-US');

export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

function ms(v: number | null): string {
  if (v === null) return 'n/a';
  if (!Number.isFinite(v)) return `> ${REQUEST_BUCKETS_SECONDS.at(-1) ?? 0} s`;
  return v >= 1000 ? `≤ ${v / 1000} s` : `≤ ${v} ms`;
}

function wall(seconds: number): string {
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')} (${seconds.toFixed(1)} s)`;
}

function ledgerText(ledger: SimulationRecord['summary']['ledger']): string {
  if (ledger === null) return 'n/a (the coordinator runs elsewhere)';
  const rest = [
    ledger.uncounted > 0 ? `${grouped(ledger.uncounted)} not counted` : null,
    ledger.countedTwice > 0 ? `${grouped(ledger.countedTwice)} counted twice` : 'none twice',
  ].filter((x) => x !== null);
  return `${grouped(ledger.countedOnce)} of ${grouped(ledger.shards)} (${rest.join(', ')})`;
}

/** Fired over planned, and the actions (heals, returns included) that could not be carried out. */
function faultsText(record: SimulationRecord): string {
  const s = record.summary;
  const failed = record.faults.filter((f) => !f.ok).map((f) => f.kind);
  const note = failed.length === 0 ? '' : ` (could not be carried out: ${failed.join(', ')})`;
  return `${s.faultsDone} / ${s.faultsPlanned}${note}`;
}

export function summaryRows(record: SimulationRecord): [string, string][] {
  const s = record.summary;
  const browsers = record.nodes.filter((n) => n.kind === 'browser').length;
  const virtual = record.nodes.length - browsers;
  return [
    ['outcome', s.outcome],
    [
      'final accuracy',
      s.finalAccuracy === null
        ? 'n/a (no checkpoint evaluated)'
        : `${(s.finalAccuracy * 100).toFixed(2)} %${s.finalLoss === null ? '' : ` (loss ${s.finalLoss.toFixed(3)})`}`,
    ],
    ['wall time', wall(s.wallSeconds)],
    ['samples', grouped(s.samples)],
    [
      'volunteers',
      `${browsers} browser${browsers === 1 ? '' : 's'}${browsers > 0 ? ` (${record.browserMode})` : ''} + ${virtual} virtual`,
    ],
    ['shards counted once', ledgerText(s.ledger)],
    ['shards re-issued', grouped(s.shardsReissued)],
    ['duplicates rejected', grouped(s.duplicatesRejected)],
    ['bytes exchanged per volunteer', bytes(s.bytesPerVolunteer)],
    ['rejected frames', grouped(s.rejectedFrames)],
    ['lease latency p50 / p99', `${ms(s.leaseLatencyMs.p50)} / ${ms(s.leaseLatencyMs.p99)}`],
    ['faults done / planned', faultsText(record)],
  ];
}

/** The table as plain text for a terminal (no colours: it also goes to logs and CI output). */
export function formatSummaryTable(record: SimulationRecord): string {
  const rows = summaryRows(record);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  const rule = `  ${'─'.repeat(width + 2 + Math.min(60, Math.max(...rows.map(([, v]) => v.length))))}`;
  return [`Simulation summary: ${record.job.name}`, rule, ...lines, rule, `  ${LATENCY_NOTE}`].join('\n');
}
