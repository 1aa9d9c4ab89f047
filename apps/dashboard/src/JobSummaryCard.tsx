/** The head of a job page: id, status, controls, shard progress and the job's figures at a glance. */
import type { ReactNode } from 'react';
import type { JobInfo } from '@tabswarm/protocol';
import { formatDateTime, formatLoss, formatNumber, formatPercent, formatPrivacy, NONE } from './format.ts';
import { JobControls } from './JobControls.tsx';
import { jobProgress } from './job-progress.ts';
import type { JobSeries } from './job-series.ts';
import { ProgressBar } from './ProgressBar.tsx';

type Props = {
  readonly job: JobInfo;
  readonly series: JobSeries;
  readonly canWrite: boolean;
  readonly metricsError: string | null;
};

interface Stat {
  readonly label: string;
  readonly value: ReactNode;
  readonly testId?: string;
  readonly mono?: boolean;
}

function jobStats(job: JobInfo, series: JobSeries): readonly Stat[] {
  // The figures of the newest scored checkpoint: the latest may still be being scored.
  const latest = series.latestScored ?? job.latestCheckpoint;
  return [
    { label: 'Samples trained', value: formatNumber(job.samplesDone), testId: 'job-samples-done' },
    {
      label: 'Samples/s (last minute)',
      value: job.status === 'running' ? formatNumber(series.samplesPerSecond, 1) : NONE,
      testId: 'job-samples-per-sec',
    },
    { label: 'Test accuracy', value: formatPercent(latest?.accuracy), testId: 'job-accuracy' },
    { label: 'Test loss', value: formatLoss(latest?.loss) },
    { label: 'Checkpoints', value: series.checkpoints.length, testId: 'checkpoint-count' },
    { label: 'Shards leased now', value: job.activeLeases, testId: 'job-active-leases' },
    {
      label: 'Model',
      value: (
        <>
          {job.spec.model.kind === 'preset' ? job.spec.model.preset : 'uploaded topology'}
          {job.parameterCount !== null && (
            <span className="detail"> · {formatNumber(job.parameterCount)} parameters</span>
          )}
        </>
      ),
    },
    { label: 'Dataset', value: job.spec.dataset, mono: true },
    { label: 'Started', value: job.startedAt === null ? NONE : formatDateTime(job.startedAt) },
    ...(job.privacy === undefined
      ? []
      : [{ label: 'Privacy spent', value: formatPrivacy(job.privacy), testId: 'job-privacy' }]),
  ];
}

export function JobSummaryCard({ job, series, canWrite, metricsError }: Props) {
  const progress = jobProgress(job);
  return (
    <section className="card">
      <div className="card-header">
        <div>
          <p className="detail mono">{job.id}</p>
          <p>
            <span className={`badge job-${job.status}`} data-testid="job-status">
              {job.status}
            </span>
            {job.statusReason !== null && <span className="detail"> {job.statusReason}</span>}
          </p>
        </div>
        <JobControls job={job} canWrite={canWrite} />
      </div>
      <ProgressBar
        label="Shards done"
        testId="job-progress"
        fraction={progress.fraction}
        text={`${formatNumber(progress.shardsDone)} of ${formatNumber(progress.totalShards)} shards · ${progress.epochsDone.toFixed(2)} of ${progress.epochs} epochs`}
      />
      <dl className="stats">
        {jobStats(job, series).map((stat) => (
          <div key={stat.label}>
            <dt>{stat.label}</dt>
            <dd data-testid={stat.testId} className={stat.mono === true ? 'mono' : undefined}>
              {stat.value}
            </dd>
          </div>
        ))}
      </dl>
      {metricsError !== null && (
        <p className="error" role="alert">
          Metrics could not be loaded: {metricsError}
        </p>
      )}
    </section>
  );
}
