/**
 * The one wrapper around uPlot (canvas): creates the chart once per options, hands it new data
 * with setData, follows its container's width with setSize, and destroys it on unmount. New data
 * and resizes are coalesced into at most one redraw per animation frame. After each draw the
 * figure carries data-points, data-series, data-draws and data-frame-ms, which tests read.
 */
import { useLayoutEffect, useRef, type ReactNode } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export type ChartOptions = Omit<uPlot.Options, 'width' | 'height'>;

type Props = {
  readonly title: string;
  readonly options: ChartOptions;
  readonly data: uPlot.AlignedData;
  readonly height?: number;
  readonly testId?: string;
  /** Shown over the plot area when set, e.g. "no data yet". */
  readonly empty?: string | null;
  /** A caption under the chart: what it shows in words (the canvas itself is not readable). */
  readonly children?: ReactNode;
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

export function UPlotChart({ title, options, data, height = 220, testId, empty = null, children }: Props) {
  const figureRef = useRef<HTMLElement>(null);
  const hostRef = useRef<HTMLDivElement>(null);
  const pending = useRef<Pending>({ data, dirty: false, schedule: () => undefined });

  // Declared first, so that on a commit where options and data change together (a chart gaining a
  // series) the chart below is created with the new data, whose columns match the new series.
  useLayoutEffect(() => {
    const state = pending.current;
    if (state.data === data) return;
    state.data = data;
    state.dirty = true;
    state.schedule();
  });

  useLayoutEffect(() => {
    const figure = figureRef.current;
    const host = hostRef.current;
    if (figure === null || host === null) return;
    const state = pending.current;
    let frame = 0;
    let frameStart = 0;
    let draws = 0;
    const onDraw = (u: uPlot): void => {
      draws += 1;
      figure.dataset.draws = String(draws);
      figure.dataset.points = String(u.data[0]?.length ?? 0);
      figure.dataset.series = String(u.series.length - 1);
      if (frameStart > 0) {
        figure.dataset.frameMs = (performance.now() - frameStart).toFixed(2);
        frameStart = 0;
      }
    };
    let width = Math.max(host.clientWidth, MIN_WIDTH);
    const plot = new uPlot(
      {
        ...options,
        width,
        height,
        hooks: { ...options.hooks, draw: [...asArray(options.hooks?.draw), onDraw] },
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

  return (
    <figure className="chart" ref={figureRef} data-testid={testId} aria-label={title}>
      <figcaption className="chart-title">{title}</figcaption>
      <div className="chart-plot">
        <div ref={hostRef} className="chart-host" />
        {empty !== null && (
          <div className="chart-empty" role="status">
            {empty}
          </div>
        )}
      </div>
      {children !== undefined && <div className="chart-caption">{children}</div>}
    </figure>
  );
}
