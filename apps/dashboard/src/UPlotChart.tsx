/**
 * The one wrapper around uPlot (canvas): creates the chart once per options, hands it new data
 * with setData, follows its container's width with setSize, and destroys it on unmount. New data
 * and resizes are coalesced into at most one redraw per animation frame; each draw is reported
 * through `onDraw`. ChartCard puts it in a titled figure.
 */
import { useLayoutEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export type ChartOptions = Omit<uPlot.Options, 'width' | 'height'>;

/** What one draw showed, and how long it took. */
export interface DrawStats {
  /** Draws since this chart was created. */
  readonly draws: number;
  readonly points: number;
  readonly series: number;
  /** From the animation frame's start to the end of the draw; null for the first draw. */
  readonly frameMs: number | null;
}

type Props = {
  readonly options: ChartOptions;
  readonly data: uPlot.AlignedData;
  readonly height?: number;
  readonly onDraw?: (stats: DrawStats) => void;
};

interface Pending {
  data: uPlot.AlignedData;
  dirty: boolean;
  schedule: () => void;
}

const MIN_WIDTH = 200;

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export function UPlotChart({ options, data, height = 220, onDraw }: Props) {
  const hostRef = useRef<HTMLDivElement>(null);
  const pending = useRef<Pending>({ data, dirty: false, schedule: () => undefined });
  // The latest callback, read at draw time, so a new function does not re-create the chart.
  const onDrawRef = useRef(onDraw);

  // Declared first, so that on a commit where options and data change together (a chart gaining a
  // series) the chart below is created with the new data, whose columns match the new series.
  useLayoutEffect(() => {
    onDrawRef.current = onDraw;
    const state = pending.current;
    if (state.data === data) return;
    state.data = data;
    state.dirty = true;
    state.schedule();
  });

  useLayoutEffect(() => {
    const host = hostRef.current;
    if (host === null) return;
    const state = pending.current;
    let frame = 0;
    let frameStart = 0;
    let draws = 0;
    const drawn = (u: uPlot): void => {
      draws += 1;
      const frameMs = frameStart > 0 ? performance.now() - frameStart : null;
      frameStart = 0;
      onDrawRef.current?.({ draws, points: u.data[0]?.length ?? 0, series: u.series.length - 1, frameMs });
    };
    let width = Math.max(host.clientWidth, MIN_WIDTH);
    const plot = new uPlot(
      {
        ...options,
        width,
        height,
        hooks: { ...options.hooks, draw: [...asArray(options.hooks?.draw), drawn] },
      },
      state.data,
      host,
    );
    state.dirty = false;

    const flush = (): void => {
      frame = 0;
      frameStart = performance.now();
      const nextWidth = Math.max(host.clientWidth, MIN_WIDTH);
      const resize = nextWidth !== width;
      if (resize) {
        width = nextWidth;
        plot.setSize({ width, height });
      }
      if (state.dirty) {
        state.dirty = false;
        plot.setData(state.data);
      } else if (!resize) {
        frameStart = 0;
      }
    };
    state.schedule = () => {
      if (frame === 0) frame = requestAnimationFrame(flush);
    };
    const observer = new ResizeObserver(() => state.schedule());
    observer.observe(host);
    return () => {
      observer.disconnect();
      if (frame !== 0) cancelAnimationFrame(frame);
      state.schedule = () => undefined;
      plot.destroy();
    };
  }, [options, height]);

  return <div ref={hostRef} className="chart-host" />;
}
