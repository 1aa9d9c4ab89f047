/** uPlot options for the job page's charts: series, scales, axes and colours, built once per shape. */
import type uPlot from 'uplot';
import type { ChartOptions } from './UPlotChart.tsx';

export const COLORS = {
  accuracy: '#2f6fdf',
  loss: '#d9730d',
  mean: '#1c2330',
  throughput: '#1d8a4e',
  consensus: '#7b4bd1',
} as const;

/** Spread per-node hues by the golden angle so neighbours differ. */
export function nodeColor(index: number, alpha = 0.55): string {
  return `hsla(${Math.round((index * 137.508) % 360)}, 60%, 48%, ${alpha})`;
}

function cssColor(name: string, fallback: string): string {
  if (typeof document === 'undefined') return fallback;
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value === '' ? fallback : value;
}

function axis(extra: uPlot.Axis = {}): uPlot.Axis {
  const text = cssColor('--muted', '#5d6778');
  const grid = cssColor('--border', '#dde2ea');
  return {
    stroke: text,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 },
    ...extra,
  };
}

/**
 * uPlot gives a single point on a time axis 86,400 "ms" either way, which with seconds as the unit
 * is years; a minute either side reads better.
 */
const padSinglePoint: uPlot.Range.Function = (u, min, max) => {
  const only = u.data[0]?.length === 1 ? u.data[0][0] : undefined;
  return typeof only === 'number' ? [only - 60, only + 60] : [min, max];
};

/** Time ticks further apart than uPlot's default, so their two-line labels do not collide. */
const TIME_AXIS: uPlot.Axis = { space: 90 };

const fmtSamples = (_u: uPlot, splits: number[]): string[] =>
  splits.map((v) => (Math.abs(v) >= 1000 ? `${(v / 1000).toLocaleString('en-US')}k` : String(v)));

/** Test accuracy (left axis, 0–1) and test loss (right axis), against time or samples trained. */
export function testMetricsOptions(x: 'time' | 'samples'): ChartOptions {
  return {
    scales: {
      x: x === 'time' ? { time: true, range: padSinglePoint } : { time: false },
      acc: { range: [0, 1] },
      loss: { auto: true },
    },
    series: [
      x === 'time'
        ? {}
        : { label: 'samples', value: (_u, v) => (v === null ? '—' : v.toLocaleString('en-US')) },
      {
        label: 'test accuracy',
        scale: 'acc',
        stroke: COLORS.accuracy,
        width: 2,
        points: { show: true, size: 5 },
        value: (_u, v) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`),
      },
      {
        label: 'test loss',
        scale: 'loss',
        stroke: COLORS.loss,
        width: 2,
        points: { show: true, size: 5 },
        value: (_u, v) => (v === null ? '—' : v.toPrecision(4)),
      },
    ],
    axes: [
      axis(x === 'samples' ? { values: fmtSamples, label: 'samples trained' } : TIME_AXIS),
      axis({ scale: 'acc', values: (_u, splits) => splits.map((v) => `${Math.round(v * 100)}%`) }),
      axis({ scale: 'loss', side: 1, grid: { show: false } }),
    ],
    cursor: { drag: { x: true, y: false } },
  };
}

/** Training loss: one thin line per node (gaps spanned), and over them the mean of recent completions. */
export function trainingLossOptions(nodeIds: readonly string[]): ChartOptions {
  const alpha = nodeIds.length > 10 ? 0.35 : 0.6;
  return {
    scales: { x: { time: true, range: padSinglePoint }, y: { auto: true } },
    series: [
      {},
      ...nodeIds.map((id, i): uPlot.Series => ({
        label: id,
        stroke: nodeColor(i, alpha),
        width: 1,
        spanGaps: true,
        points: { show: false },
      })),
      { label: 'mean (last 20 shards)', stroke: cssColor('--text', COLORS.mean), width: 2.5 },
    ],
    axes: [axis(TIME_AXIS), axis({ values: (_u, splits) => splits.map((v) => v.toPrecision(3)) })],
    // Fifty per-node entries would bury the chart; the caption says what the lines are.
    legend: { show: nodeIds.length <= 6 },
    cursor: { drag: { x: true, y: false } },
  };
}

export function throughputOptions(): ChartOptions {
  return {
    scales: {
      x: { time: true, range: padSinglePoint },
      y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
    },
    series: [
      {},
      {
        label: 'samples/s (10 s window)',
        stroke: COLORS.throughput,
        fill: 'rgba(29, 138, 78, 0.12)',
        width: 2,
        value: (_u, v) => (v === null ? '—' : v.toFixed(1)),
      },
    ],
    axes: [axis(TIME_AXIS), axis()],
    cursor: { drag: { x: true, y: false } },
  };
}

export function consensusOptions(): ChartOptions {
  return {
    scales: { x: { time: true }, y: { range: [0, 1] } },
    series: [{}, { label: 'consensus distance', stroke: COLORS.consensus, width: 2 }],
    axes: [axis(TIME_AXIS), axis()],
  };
}
