/**
 * The dataset card's column summary: one row per CSV column with its kind, what the training split
 * held (min/max/mean/std, or the categories) and the preprocessing applied. Pure, so it is
 * unit-tested; DatasetColumns.tsx renders it.
 */
import type { ColumnSummary } from '@tabswarm/protocol';

export interface ColumnRow {
  readonly name: string;
  readonly kind: string;
  /** "min 0.01 · max 2,500 · mean 41.2 · std 3.05", or the categories, or "—". */
  readonly values: string;
  readonly preprocessing: string;
}

/** Four significant digits, thousands separated: statistics span 0.001 to 10,000 and more. */
export function formatStat(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e6 || abs < 1e-3) return value.toExponential(3);
  return Number(value.toPrecision(4)).toLocaleString('en-US', { maximumFractionDigits: 6 });
}

const MAX_SHOWN_CATEGORIES = 8;

function categories(values: readonly string[]): string {
  const shown = values.slice(0, MAX_SHOWN_CATEGORIES).join(', ');
  const more = values.length - MAX_SHOWN_CATEGORIES;
  return `${values.length} ${values.length === 1 ? 'value' : 'values'}: ${shown}${more > 0 ? `, … (${more} more)` : ''}`;
}

const PREPROCESSING: Readonly<Record<ColumnSummary['preprocessing'], string>> = {
  standardize: 'standardised with the training split’s mean and std',
  none: 'raw values',
  onehot: 'one-hot',
  drop: 'dropped',
  classes: 'label (classes)',
};

export function columnRows(summary: readonly ColumnSummary[]): ColumnRow[] {
  return summary.map((c) => ({
    name: c.name,
    kind: c.kind,
    values:
      c.categories !== undefined
        ? categories(c.categories)
        : c.mean !== undefined
          ? `min ${formatStat(c.min)} · max ${formatStat(c.max)} · mean ${formatStat(c.mean)} · std ${formatStat(c.std)}`
          : '—',
    preprocessing: PREPROCESSING[c.preprocessing],
  }));
}
