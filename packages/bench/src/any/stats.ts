/** Summary statistics of repeated measurements: what every timed figure in the tables reports. */
import type { Timing } from '../part.ts';

/** The median of its samples with min and max. Throws on an empty list or a non-finite sample. */
export function timing(samples: readonly number[]): Timing {
  if (samples.length === 0) throw new RangeError('a timing needs at least one sample');
  if (samples.some((s) => !Number.isFinite(s))) throw new RangeError('a timing sample is not finite');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return {
    median,
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    repetitions: sorted.length,
  };
}

/** A timing transformed sample by sample (ms → Mbit/s): min and max swap when `f` decreases. */
export function mapTiming(t: Timing, f: (value: number) => number): Timing {
  const [a, b] = [f(t.min), f(t.max)];
  return { median: f(t.median), min: Math.min(a, b), max: Math.max(a, b), repetitions: t.repetitions };
}

/** "12.3 (11.9–13.0)": a median with its spread, at `digits` decimals. */
export function formatTiming(t: Timing, digits: number): string {
  return `${t.median.toFixed(digits)} (${t.min.toFixed(digits)}–${t.max.toFixed(digits)})`;
}
