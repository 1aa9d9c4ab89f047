/** The job page's charts: test metrics over time and samples, training loss, throughput, consensus distance. */
import { useMemo, type ReactNode } from 'react';
import type uPlot from 'uplot';
import { Card } from '@tabswarm/ui';
import { ChartCard } from './ChartCard.tsx';
import {
  consensusOptions,
  testMetricsOptions,
  throughputOptions,
  trainingLossOptions,
} from './chart-options.ts';
import { formatNumber } from './format.ts';
import type { ChartOptions } from './UPlotChart.tsx';
import { MAX_CHART_POINTS, MAX_NODE_SERIES, type ConsensusChart, type JobCharts } from './job-series.ts';

type Props = {
  readonly charts: JobCharts;
  readonly checkpoints: number;
  readonly consensus: ConsensusChart;
  /** The job's averaging mode: FedAvg jobs make no gossip exchanges to measure. */
  readonly averaging: string;
};

/** One chart of the card: its uPlot options, its columns and what to say while they are empty; a caption. */
interface ChartSpec {
  readonly title: string;
  readonly testId: string;
  readonly chart: readonly [ChartOptions, uPlot.AlignedData, string | null];
  readonly caption: ReactNode;
}

function consensusEmpty(consensus: ConsensusChart, averaging: string): string | null {
  if (consensus.data[0].length > 0) return null;
  if (averaging === 'fedavg') {
    return 'No data yet: this job averages with FedAvg on the coordinator, so volunteers make no gossip exchanges to measure.';
  }
  if (consensus.exchanges > 0) {
    return `No data yet: ${consensus.exchanges} gossip exchanges reported, none completed with a distance.`;
  }
  return 'No data yet: no gossip exchange has been reported for this job.';
}

export function ConvergenceCard({ charts, checkpoints, consensus, averaging }: Props) {
  const nodeKey = charts.nodeIds.join(',');
  const testTime = useMemo(() => testMetricsOptions('time'), []);
  const testSamples = useMemo(() => testMetricsOptions('samples'), []);
  const loss = useMemo(() => trainingLossOptions(nodeKey === '' ? [] : nodeKey.split(',')), [nodeKey]);
  const throughput = useMemo(() => throughputOptions(), []);
  const consensusChartOptions = useMemo(() => consensusOptions(), []);
  const evaluated = charts.testByTime[0].length;
  const completions = charts.trainingLoss[0].length;
  const waitingForTest =
    evaluated > 0 ? null : checkpoints > 0 ? 'Evaluating the first checkpoint…' : 'No checkpoint yet';
  const noTraining = completions > 0 ? null : 'No shard completed yet';
  const specs: readonly ChartSpec[] = [
    {
      title: 'Test accuracy and loss over time',
      testId: 'chart-test-time',
      chart: [testTime, charts.testByTime, waitingForTest],
      caption: `Each point is a checkpoint evaluated on the test set; ${evaluated} so far.`,
    },
    {
      title: 'Test accuracy and loss against samples trained',
      testId: 'chart-test-samples',
      chart: [testSamples, charts.testBySamples, waitingForTest],
      caption: 'Samples are the counted training samples before each checkpoint.',
    },
    {
      title: 'Training loss',
      testId: 'chart-training-loss',
      chart: [loss, charts.trainingLoss, noTraining],
      caption: (
        <>
          Bold: mean of the last 20 shards; thin: each volunteer’s reported loss ({charts.nodeIds.length}{' '}
          volunteers
          {charts.nodeIds.length >= MAX_NODE_SERIES ? `, the first ${MAX_NODE_SERIES} drawn` : ''}).{' '}
          {completions >= MAX_CHART_POINTS
            ? `The newest ${formatNumber(MAX_CHART_POINTS)} shards are drawn.`
            : ''}
        </>
      ),
    },
    {
      title: 'Throughput',
      testId: 'chart-throughput',
      chart: [throughput, charts.throughput, noTraining],
      caption: 'Counted samples per second over a trailing 10 s window.',
    },
    {
      title: 'Consensus distance',
      testId: 'chart-consensus',
      chart: [consensusChartOptions, consensus.data, consensusEmpty(consensus, averaging)],
      caption: `How far apart the volunteers’ models are: the mean of ‖mine − theirs‖ / ‖mine‖ over the successful exchanges of each interval (${formatNumber(consensus.measured)} of ${formatNumber(consensus.exchanges)} exchanges); it goes to zero when training stops.`,
    },
  ];
  return (
    <Card title="Convergence" headingId="charts-heading">
      <div className="charts">
        {specs.map(({ title, testId, chart: [options, data, empty], caption }) => (
          <ChartCard key={testId} title={title} options={options} data={data} testId={testId} empty={empty}>
            {caption}
          </ChartCard>
        ))}
      </div>
    </Card>
  );
}
