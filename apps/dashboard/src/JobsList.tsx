/** Every job at a glance: status, progress (epochs, shards), latest accuracy, volunteers, samples/s. */
import type { JobInfo } from '@tabswarm/protocol';
import { Card, DataTable, type TableColumn } from '@tabswarm/ui';
import { formatDateTime, formatNumber, formatPercent } from './format.ts';
import { jobProgress, sortJobs } from './job-progress.ts';
import { jobHref, routeHref } from './routes.ts';
import { samplesRate, type SamplesMark } from './store.ts';
import { ProgressBar } from './ProgressBar.tsx';

type Props = {
  readonly jobs: ReadonlyMap<string, JobInfo>;
  readonly marks: ReadonlyMap<string, readonly SamplesMark[]>;
  /** Local time (the marks are local). */
  readonly now: number;
  readonly canWrite: boolean;
};

const COLUMNS: readonly TableColumn[] = [
  { label: 'Job' },
  { label: 'Status' },
  { label: 'Epochs' },
  { label: 'Shards' },
  { label: 'Latest accuracy' },
  { label: 'Volunteers at work', title: 'Shards leased right now: each is one volunteer at work' },
  { label: 'Samples/s', title: 'Counted samples per second over the last 30 s of updates' },
  { label: 'Created' },
];

export function JobsList({ jobs, marks, now, canWrite }: Props) {
  const sorted = sortJobs(jobs.values());
  return (
    <Card
      headingId="jobs-heading"
      title={
        <>
          Jobs{' '}
          <span className="detail" data-testid="job-count">
            {sorted.length}
          </span>
        </>
      }
      actions={
        <a className="button primary small" href={routeHref({ page: 'submit' })} data-testid="new-job-link">
          Submit a job
        </a>
      }
    >
      {sorted.length === 0 ? (
        <p className="empty" data-testid="jobs-empty">
          No jobs yet. {canWrite ? 'Submit one to start training.' : 'An operator can submit one.'}
        </p>
      ) : (
        <DataTable columns={COLUMNS} className="jobs" testId="jobs-table">
          {sorted.map((job) => {
            const p = jobProgress(job);
            return (
              <tr key={job.id} data-testid="job-row" data-job-id={job.id} data-status={job.status}>
                <td>
                  <a href={jobHref(job.id)} data-testid="job-link">
                    {job.name}
                  </a>
                  <div className="detail mono">{job.id}</div>
                </td>
                <td>
                  <span className={`badge job-${job.status}`} title={job.statusReason ?? undefined}>
                    {job.status}
                  </span>
                </td>
                <td className="num">
                  {p.epochsDone.toFixed(1)} of {p.epochs}
                </td>
                <td className="progress-cell">
                  <ProgressBar
                    label={`${job.name}: shards done`}
                    fraction={p.fraction}
                    text={`${formatNumber(p.shardsDone)} / ${formatNumber(p.totalShards)}`}
                  />
                </td>
                <td className="num">{formatPercent(job.latestCheckpoint?.accuracy)}</td>
                <td className="num">{job.activeLeases}</td>
                <td className="num">{formatNumber(samplesRate(marks.get(job.id), now), 1)}</td>
                <td className="detail">{formatDateTime(job.createdAt)}</td>
              </tr>
            );
          })}
        </DataTable>
      )}
    </Card>
  );
}
