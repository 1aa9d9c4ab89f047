// The uPlot wrapper in a real browser: 10,000 points × 50 series drawn, updates arriving, redraws
// coalesced to animation frames, and a logged frame-time measurement (a figure, not an assertion).
import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { createRoot, type Root } from 'react-dom/client';
import type uPlot from 'uplot';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nodeColor } from './chart-options.ts';
import { ColumnRing } from './ring-buffer.ts';
import { ChartCard } from './ChartCard.tsx';
import type { ChartOptions } from './UPlotChart.tsx';

const POINTS = 10_000;
const SERIES = 50;

let root: Root | null = null;
let host: HTMLElement | null = null;

afterEach(() => {
  root?.unmount();
  host?.remove();
  root = null;
  host = null;
});

function mount(): Root {
  host = document.createElement('div');
  host.style.width = '900px';
  document.body.append(host);
  root = createRoot(host);
  return root;
}

const nextFrame = (): Promise<number> => new Promise((resolve) => requestAnimationFrame(resolve));

/** A ring of 10,000 rows: x plus 50 series of distinct, smooth curves. */
function fill(ring: ColumnRing<string>, names: readonly string[], from: number, count: number): void {
  const row: Record<string, number> = {};
  for (let i = from; i < from + count; i++) {
    row.x = i;
    names.forEach((name, s) => {
      row[name] = Math.sin(i / 300 + s) * (1 + s / 10) + s;
    });
    ring.push(row);
  }
}

function snapshot(ring: ColumnRing<string>, names: readonly string[]): uPlot.AlignedData {
  return [ring.column('x'), ...names.map((n) => ring.column(n))];
}

function render(r: Root, options: ChartOptions, data: uPlot.AlignedData): void {
  flushSync(() =>
    r.render(createElement(ChartCard, { title: 'stress', options, data, height: 300, testId: 'chart' })),
  );
}

function figure(): HTMLElement {
  const el = host?.querySelector<HTMLElement>('[data-testid="chart"]');
  if (!el) throw new Error('chart not rendered');
  return el;
}

const draws = (): number => Number(figure().dataset.draws ?? 0);

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? Number.NaN;
}

describe('ChartCard and its uPlot wrapper', () => {
  it('draws every one of 50 series of 10,000 points, takes updates, and redraws at most once per frame', async () => {
    const names = Array.from({ length: SERIES }, (_, s) => `s${s}`);
    const ring = new ColumnRing(['x', ...names], POINTS);
    fill(ring, names, 0, POINTS);

    const drawnSeries = new Map<number, number>();
    let plot: uPlot | null = null;
    const options: ChartOptions = {
      scales: { x: { time: false } },
      series: [{}, ...names.map((label, s) => ({ label, stroke: nodeColor(s, 0.9), width: 1 }))],
      legend: { show: false },
      hooks: {
        init: [(u) => void (plot = u)],
        drawSeries: [(_u, index) => void drawnSeries.set(index, (drawnSeries.get(index) ?? 0) + 1)],
      },
    };
    const r = mount();
    render(r, options, snapshot(ring, names));
    await vi.waitFor(() => expect(draws()).toBeGreaterThan(0));

    // Every series drawn, with all of its points, onto a canvas that is not blank.
    expect(figure().dataset.series).toBe(String(SERIES));
    expect(figure().dataset.points).toBe(String(POINTS));
    for (let s = 1; s <= SERIES; s++) expect(drawnSeries.get(s), `series ${s}`).toBeGreaterThan(0);
    const u = plot as uPlot | null;
    expect(u?.data).toHaveLength(SERIES + 1);
    expect(u?.data.every((column) => column.length === POINTS)).toBe(true);
    const canvas = figure().querySelector('canvas');
    const ctx = canvas?.getContext('2d');
    const pixels =
      ctx?.getImageData(0, 0, canvas?.width ?? 0, canvas?.height ?? 0).data ?? new Uint8ClampedArray();
    let painted = 0;
    for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) painted += 1;
    expect(painted).toBeGreaterThan(10_000);

    // Updates arrive: new rows push old ones out, and the chart shows the new window.
    fill(ring, names, POINTS, 500);
    const before = draws();
    render(r, options, snapshot(ring, names));
    await vi.waitFor(() => expect(draws()).toBeGreaterThan(before));
    expect(u?.data[0]?.[0]).toBe(500);
    expect(u?.data[0]?.[POINTS - 1]).toBe(POINTS + 499);
    for (let s = 1; s <= SERIES; s++) expect(drawnSeries.get(s)).toBeGreaterThanOrEqual(2);

    // A burst of twenty updates inside one frame is one redraw, with the last data.
    await nextFrame();
    await nextFrame();
    const beforeBurst = draws();
    for (let k = 0; k < 20; k++) {
      fill(ring, names, POINTS + 500 + k, 1);
      render(r, options, snapshot(ring, names));
    }
    await nextFrame();
    await nextFrame();
    expect(draws() - beforeBurst).toBe(1);
    expect(u?.data[0]?.[POINTS - 1]).toBe(POINTS + 519);

    // Resizing the container resizes the chart on the next frame.
    const plotHost = figure().querySelector<HTMLElement>('.chart-host');
    const wide = u?.width ?? 0;
    if (host) host.style.width = '600px';
    await vi.waitFor(() => expect(u?.width).toBe(plotHost?.clientWidth));
    expect(u?.width).toBeLessThan(wide);
  });

  it('takes new options and new data in one render: a chart that gains series', async () => {
    const errors: unknown[] = [];
    const onError = (e: ErrorEvent): void => void errors.push(e.error);
    window.addEventListener('error', onError);
    const optionsFor = (n: number): ChartOptions => ({
      scales: { x: { time: false } },
      series: [{}, ...Array.from({ length: n }, (_, s) => ({ label: `s${s}`, stroke: nodeColor(s) }))],
      legend: { show: false },
    });
    const dataFor = (n: number, length: number): uPlot.AlignedData => [
      Float64Array.from({ length }, (_, i) => i),
      ...Array.from({ length: n }, (_, s) =>
        Array.from({ length }, (_, i) => (i % (s + 2) === 0 ? i + s : null)),
      ),
    ];
    const r = mount();
    render(r, optionsFor(2), dataFor(2, 100));
    await vi.waitFor(() => expect(figure().dataset.series).toBe('2'));
    for (let n = 3; n <= 12; n++) {
      render(r, optionsFor(n), dataFor(n, 100 + n));
      await nextFrame();
    }
    await vi.waitFor(() => expect(figure().dataset.series).toBe('12'));
    await vi.waitFor(() => expect(figure().dataset.points).toBe('112'));
    window.removeEventListener('error', onError);
    expect(errors).toEqual([]);
  });

  it('measures the frame time of streaming into 10,000 × 50 (logged, not asserted)', async () => {
    const names = Array.from({ length: SERIES }, (_, s) => `s${s}`);
    const ring = new ColumnRing(['x', ...names], POINTS);
    fill(ring, names, 0, POINTS);
    const options: ChartOptions = {
      scales: { x: { time: false } },
      series: [{}, ...names.map((label, s) => ({ label, stroke: nodeColor(s, 0.9), width: 1 }))],
      legend: { show: false },
    };
    const r = mount();
    render(r, options, snapshot(ring, names));
    await vi.waitFor(() => expect(draws()).toBeGreaterThan(0));

    // Each frame: one new row per series into the ring, a snapshot of all 51 columns, a React
    // render, and the wrapper's setData + redraw. Timed from the push to the end of the draw.
    const FRAMES = 120;
    const pipeline: number[] = [];
    const chartOnly: number[] = [];
    const intervals: number[] = [];
    let last = await nextFrame();
    let next = POINTS;
    for (let f = 0; f < FRAMES; f++) {
      const drawsBefore = draws();
      const started = performance.now();
      fill(ring, names, next, 1);
      next += 1;
      render(r, options, snapshot(ring, names));
      const now = await nextFrame();
      intervals.push(now - last);
      last = now;
      await vi.waitFor(() => expect(draws()).toBeGreaterThan(drawsBefore), { interval: 1 });
      pipeline.push(performance.now() - started);
      chartOnly.push(Number(figure().dataset.frameMs));
    }
    const report = {
      points: POINTS,
      series: SERIES,
      frames: FRAMES,
      setDataToDrawMs: { median: percentile(chartOnly, 0.5), p95: percentile(chartOnly, 0.95) },
      pushToDrawnMs: { median: percentile(pipeline, 0.5), p95: percentile(pipeline, 0.95) },
      frameIntervalMs: { median: percentile(intervals, 0.5), p95: percentile(intervals, 0.95) },
    };
    console.info(`chart frame time: ${JSON.stringify(report)}`);
    expect(chartOnly.every(Number.isFinite)).toBe(true);
  });
});
