/** The job page's charts: test metrics over time and samples, training loss, throughput, consensus distance. */
import { useMemo } from 'react';
import { Card } from '@tabswarm/ui';
import { ChartCard } from './ChartCard.tsx';
import {
  consensusOptions,
  testMetricsOptions,
  throughputOptions,
  trainingLossOptions,
} from './chart-options.ts';
import { formatNumber } from './format.ts';
import { MAX_CHART_POINTS, MAX_NODE_SERIES, type ConsensusChart, type JobCharts } from './job-series.ts';

type Props = {
  readonly charts: JobCharts;
  readonly checkpoints: number;
  readonly consensus: ConsensusChart;
  /** The job's averaging mode: FedAvg jobs make no gossip exchanges to measure. */
  readonly averaging: string;
};

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
  return (
    <Card title="Convergence" headingId="charts-heading">
      <div className="charts">
        <ChartCard
          title="Test accuracy and loss over time"
          options={testTime}
          data={charts.testByTime}
          testId="chart-test-time"
          empty={waitingForTest}
        >
          Each point is a checkpoint evaluated on the test set; {evaluated} so far.
        </ChartCard>
        <ChartCard
          title="Test accuracy and loss against samples trained"
          options={testSamples}
          data={charts.testBySamples}
          testId="chart-test-samples"
          empty={waitingForTest}
        >
          Samples are the counted training samples before each checkpoint.
        </ChartCard>
        <ChartCard
          title="Training loss"
          options={loss}
          data={charts.trainingLoss}
          testId="chart-training-loss"
          empty={noTraining}
        >
          Bold: mean of the last 20 shards; thin: each volunteer’s reported loss ({charts.nodeIds.length}{' '}
          volunteers
          {charts.nodeIds.length >= MAX_NODE_SERIES ? `, the first ${MAX_NODE_SERIES} drawn` : ''}).{' '}
          {completions >= MAX_CHART_POINTS
            ? `The newest ${formatNumber(MAX_CHART_POINTS)} shards are drawn.`
            : ''}
        </ChartCard>
        <ChartCard
          title="Throughput"
          options={throughput}
          data={charts.throughput}
          testId="chart-throughput"
          empty={noTraining}
        >
          Counted samples per second over a trailing 10 s window.
        </ChartCard>
        <ChartCard
          title="Consensus distance"
          options={consensusChartOptions}
          data={consensus.data}
          testId="chart-consensus"
          empty={consensusEmpty(consensus, averaging)}
        >
          How far apart the volunteers’ models are: the mean of ‖mine − theirs‖ / ‖mine‖ over the successful
          exchanges of each interval ({formatNumber(consensus.measured)} of{' '}
          {formatNumber(consensus.exchanges)} exchanges); it goes to zero when training stops.
        </ChartCard>
      </div>
    </Card>
  );
}
