/**
 * The report's per-volunteer views: what state each node was in and how fast it trained over time.
 * Up to STRIP_LIMIT nodes get a heat strip each (hue = state, depth = samples/s); any number get
 * the aggregates — nodes per state stacked, and the spread of samples/s (median, 10th–90th
 * percentile band) — so the section stays readable at 1,000 volunteers.
 */
import type { NodeSeries, SimulationRecord } from './record.ts';
import {
  axes,
  clock,
  escapeXml,
  Frame,
  legend,
  markersAndBands,
  path,
  PLOT,
  svgOpen,
  type Band,
  type Marker,
} from './report-svg.ts';

export const STRIP_LIMIT = 50;
const BINS = 120;

export const STATE_COLORS = {
  starting: '#64b5f6',
  working: '#2f7d32',
  idle: '#9ccc65',
  offline: '#f0a030',
  gone: '#c62828',
  other: '#7e8aa2',
} as const;
export type NodeState = keyof typeof STATE_COLORS;

/** The harness reports free-form statuses ("connected/training", "gone"); the views group them. */
export function stateOf(status: string): NodeState {
  const s = status.toLowerCase();
  if (/gone|closed|killed|exited|crash/.test(s)) return 'gone';
  if (/offline|disconnect|reconnect|connecting|partition/.test(s)) return 'offline';
  if (/train|comput|download|upload|averag|exchang|lease|step|evaluat/.test(s)) return 'working';
  if (/idle|wait|ready|off$|no.?work/.test(s)) return 'idle';
  if (/load|calibrat|start|self.?test|join|boot/.test(s)) return 'starting';
  return 'other';
}

interface Cell {
  readonly state: NodeState | null;
  readonly status: string | null;
  readonly rate: number | null;
}

/** A node's points resampled into bins: the last status seen in or before a bin, the mean rate in it. */
function cells(node: NodeSeries, binMs: number): Cell[] {
  const out: Cell[] = [];
  let i = 0;
  let last: string | null = null;
  let rate: number | null = null;
  for (let b = 0; b < BINS; b++) {
    const end = (b + 1) * binMs;
    let sum = 0;
    let n = 0;
    while (i < node.points.length && (node.points[i]?.t ?? Infinity) < end) {
      const p = node.points[i++];
      if (p === undefined) break;
      last = p.status;
      if (p.samplesPerSec !== null) {
        sum += p.samplesPerSec;
        n++;
      }
    }
    // Observations come every few seconds, bins can be finer: a bin with none keeps the last rate.
    if (n > 0) rate = sum / n;
    else if (last === null || stateOf(last) === 'gone' || stateOf(last) === 'offline') rate = null;
    out.push({ state: last === null ? null : stateOf(last), status: last, rate });
  }
  return out;
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i] ?? 0;
}

export interface NodeViews {
  readonly states: string;
  readonly rates: string;
  readonly strips: string | null;
}

export function nodeViews(
  record: SimulationRecord,
  endMs: number,
  markers: readonly Marker[],
  bands: readonly Band[],
): NodeViews {
  const binMs = Math.max(1, endMs / BINS);
  const grid = record.nodes.map((n) => cells(n, binMs));
  const xAxis = { label: 'time since start (m:ss)', min: 0, max: endMs, format: clock };
  const mid = (b: number): number => (b + 0.5) * binMs;

  // Nodes per state, stacked.
  const order = Object.keys(STATE_COLORS) as NodeState[];
  const counts = Array.from({ length: BINS }, (_, b) => {
    const c: Record<NodeState, number> = { starting: 0, working: 0, idle: 0, offline: 0, gone: 0, other: 0 };
    for (const row of grid) {
      const s = row[b]?.state;
      if (s) c[s]++;
    }
    return c;
  });
  const maxNodes = Math.max(1, ...counts.map((c) => order.reduce((n, s) => n + c[s], 0)));
  const sf = new Frame(xAxis, { label: 'volunteers', min: 0, max: maxNodes, format: String }, 200);
  // One column per bin (steps, not interpolated slopes between bins), states stacked bottom up.
  const colW = (PLOT.width - PLOT.left - PLOT.right) / BINS;
  const areas = counts.flatMap((c, b) => {
    let below = 0;
    return order.flatMap((state) => {
      if (c[state] === 0) return [];
      const y0 = sf.sy(below + c[state]);
      const y1 = sf.sy(below);
      below += c[state];
      return [
        `<rect x="${(PLOT.left + b * colW).toFixed(1)}" y="${y0.toFixed(1)}" width="${(colW + 0.3).toFixed(1)}" height="${(y1 - y0).toFixed(1)}" fill="${STATE_COLORS[state]}"/>`,
      ];
    });
  });
  const states = [
    svgOpen(sf.height, 'volunteers by state'),
    axes(sf),
    ...areas,
    markersAndBands(sf, markers, bands),
    legend(order.map((s) => ({ name: s, color: STATE_COLORS[s] }))),
    '</svg>',
  ].join('');

  // Spread of samples/s over the nodes that reported a rate in each bin.
  const spread = Array.from({ length: BINS }, (_, b) => {
    const rates = grid
      .map((row) => row[b]?.rate)
      .filter((r): r is number => r !== null && r !== undefined)
      .sort((x, y) => x - y);
    return rates.length === 0
      ? null
      : { t: mid(b), p10: percentile(rates, 0.1), p50: percentile(rates, 0.5), p90: percentile(rates, 0.9) };
  }).filter((s) => s !== null);
  const maxRate = Math.max(1, ...spread.map((s) => s.p90));
  const rf = new Frame(
    xAxis,
    { label: 'samples/s per volunteer', min: 0, max: maxRate * 1.05, format: String },
    200,
  );
  const band = [
    ...spread.map((s) => [s.t, s.p90] as const),
    ...spread.map((s) => [s.t, s.p10] as const).reverse(),
  ];
  const rates = [
    svgOpen(rf.height, 'samples per second per volunteer'),
    axes(rf),
    markersAndBands(rf, markers, bands),
    spread.length > 0 ? `<path d="${path(rf, band)}Z" fill="#1565c0" opacity="0.18"/>` : '',
    `<path d="${path(
      rf,
      spread.map((s) => [s.t, s.p50] as const),
    )}" fill="none" stroke="#1565c0" stroke-width="1.8"/>`,
    legend([
      { name: 'median', color: '#1565c0' },
      { name: '10th–90th percentile', color: '#a9c4e6' },
    ]),
    '</svg>',
  ].join('');

  return {
    states,
    rates,
    strips: record.nodes.length <= STRIP_LIMIT ? strips(record, grid, endMs, maxRate) : null,
  };
}

/** One row per node: a cell per bin, hue by state, opacity by samples/s relative to the fastest. */
function strips(record: SimulationRecord, grid: readonly Cell[][], endMs: number, maxRate: number): string {
  const row = 12;
  const height = PLOT.top + record.nodes.length * row + PLOT.bottom;
  const f = new Frame(
    { label: 'time since start (m:ss)', min: 0, max: endMs, format: clock },
    { label: '', min: 0, max: 1, format: String },
    height,
  );
  const cellW = (PLOT.width - PLOT.left - PLOT.right) / BINS;
  const rects: string[] = [];
  record.nodes.forEach((node, r) => {
    const y = PLOT.top + r * row;
    rects.push(
      `<text class="tick" x="${PLOT.left - 6}" y="${y + row / 2}" dy="0.32em" text-anchor="end">${escapeXml(node.label)}</text>`,
    );
    grid[r]?.forEach((c, b) => {
      if (c.state === null) return;
      const depth = c.rate === null ? 0.35 : 0.35 + 0.65 * Math.min(1, c.rate / maxRate);
      const tip = `${node.label} ${clock(b * (endMs / BINS))}: ${c.status ?? ''}${c.rate === null ? '' : `, ${c.rate.toFixed(1)} samples/s`}`;
      rects.push(
        `<rect x="${(PLOT.left + b * cellW).toFixed(1)}" y="${y + 1}" width="${(cellW + 0.3).toFixed(1)}" height="${row - 2}" fill="${STATE_COLORS[c.state]}" opacity="${depth.toFixed(2)}"><title>${escapeXml(tip)}</title></rect>`,
      );
    });
  });
  return [
    svgOpen(height, 'state and speed of each volunteer'),
    axes(f, false),
    ...rects,
    legend((Object.keys(STATE_COLORS) as NodeState[]).map((s) => ({ name: s, color: STATE_COLORS[s] }))),
    '</svg>',
  ].join('');
}
