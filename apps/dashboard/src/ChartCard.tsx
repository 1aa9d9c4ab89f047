/**
 * One chart as the job page shows it: a titled figure with the uPlot chart, an empty-state message
 * over the plot while there is nothing to draw, and a caption saying in words what it shows (the
 * canvas itself is not readable). After each draw the figure carries data-points, data-series,
 * data-draws and data-frame-ms, which tests read.
 */
import { useCallback, useRef, type ReactNode } from 'react';
import type uPlot from 'uplot';
import { UPlotChart, type ChartOptions, type DrawStats } from './UPlotChart.tsx';

type Props = {
  readonly title: string;
  readonly options: ChartOptions;
  readonly data: uPlot.AlignedData;
  readonly height?: number;
  readonly testId?: string;
  /** Shown over the plot area when set, e.g. "no data yet". */
  readonly empty?: string | null;
  /** The caption under the chart. */
  readonly children?: ReactNode;
};

export function ChartCard({ title, options, data, height, testId, empty = null, children }: Props) {
  const figureRef = useRef<HTMLElement>(null);
  const publish = useCallback((stats: DrawStats): void => {
    const figure = figureRef.current;
    if (figure === null) return;
    figure.dataset.draws = String(stats.draws);
    figure.dataset.points = String(stats.points);
    figure.dataset.series = String(stats.series);
    if (stats.frameMs !== null) figure.dataset.frameMs = stats.frameMs.toFixed(2);
  }, []);
  return (
    <figure className="chart" ref={figureRef} data-testid={testId} aria-label={title}>
      <figcaption className="chart-title">{title}</figcaption>
      <div className="chart-plot">
        <UPlotChart
          options={options}
          data={data}
          onDraw={publish}
          {...(height === undefined ? {} : { height })}
        />
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
