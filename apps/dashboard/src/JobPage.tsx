/**
 * One job, live: the page composes its cards — training-health alarms, summary and controls,
 * convergence charts, downloads, volunteers, events and spec — over the data `useJobData` keeps
 * current.
 */
import { Card } from '@tabswarm/ui';
import { ConvergenceCard } from './ConvergenceCard.tsx';
import { DownloadsCard } from './DownloadsCard.tsx';
import { EventLog } from './EventLog.tsx';
import { JobSummaryCard } from './JobSummaryCard.tsx';
import { JobVolunteersCard } from './JobVolunteersCard.tsx';
import { LanguageModelSection } from './LanguageModelCard.tsx';
import { TrainingAlarms } from './TrainingAlarms.tsx';
import { routeHref } from './routes.ts';
import { useJobData } from './use-job-data.ts';

type Props = {
  readonly jobId: string;
  readonly canWrite: boolean;
  readonly serverNow: number;
};

export function JobPage({ jobId, canWrite, serverNow }: Props) {
  const { state, job, loadError, series, version, metricsError, consensus, fetchMetrics } = useJobData(jobId);

  if (job === null) {
    return (
      <section className="card">
        {loadError === null ? (
          <p className="empty">Loading job {jobId}…</p>
        ) : (
          <p className="error" role="alert">
            {loadError}
          </p>
        )}
        <a href={routeHref({ page: 'jobs' })}>All jobs</a>
      </section>
    );
  }

  return (
    <div className="job-page" data-testid="job-page" data-job-id={job.id} data-metrics-version={version}>
      <TrainingAlarms alarms={job.alarms ?? []} />
      <JobSummaryCard job={job} series={series} canWrite={canWrite} metricsError={metricsError} />
      <ConvergenceCard
        charts={series.charts()}
        checkpoints={series.checkpoints.length}
        consensus={consensus}
        averaging={job.spec.averaging.mode}
      />
      <LanguageModelSection job={job} checkpoints={series.checkpoints} />
      <DownloadsCard job={job} series={series} fetchMetrics={fetchMetrics} />
      <JobVolunteersCard series={series} nodes={state.nodes} serverNow={serverNow} />
      <Card
        title="Events"
        headingId="job-events-heading"
        actions={<a href={routeHref({ page: 'events', kinds: [], jobId: job.id })}>Filter all events</a>}
      >
        <EventLog events={state.events} jobs={state.jobs} filter={{ kinds: [], jobId: job.id }} limit={50} />
      </Card>
      <details className="card">
        <summary>Job spec</summary>
        <pre className="spec" data-testid="job-spec">
          {JSON.stringify(
            job.spec,
            (key, value: unknown) => (key === 'topology' ? '(uploaded topology)' : value),
            2,
          )}
        </pre>
      </details>
    </div>
  );
}
