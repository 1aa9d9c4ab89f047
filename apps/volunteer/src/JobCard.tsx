/** The work this tab will do: the coordinator, the job it trains and that job's settings. */
import type { JobInfo, OptimizerSpec } from '@tabswarm/protocol';
import { pickJob } from '@tabswarm/trainer';
import { Card } from '@tabswarm/ui';
import type { VolunteerState } from './store.ts';
import { useJobs } from './use-jobs.ts';

type Props = {
  readonly state: VolunteerState;
};

function modelLabel(job: JobInfo): string {
  const model = job.spec.model;
  if (model.kind === 'preset') return model.preset;
  const config = (model.topology as { config?: { layers?: unknown[] } }).config;
  const layers = Array.isArray(config?.layers) ? `${config.layers.length} layers` : 'custom';
  return `custom TF.js topology (${layers})`;
}

function optimizerLabel(optimizer: OptimizerSpec): string {
  switch (optimizer.type) {
    case 'sgd':
      return 'SGD';
    case 'momentum':
      return `${optimizer.nesterov ? 'Nesterov ' : ''}momentum ${optimizer.momentum}`;
    case 'adam':
      return `Adam (β₁ ${optimizer.beta1}, β₂ ${optimizer.beta2})`;
  }
}

export function JobCard({ state }: Props) {
  const { jobs, error } = useJobs();
  const current = state.trainer?.job ?? null;
  // The trainer's copy is from when it loaded the job; the list is re-read every few seconds.
  const fresh = current === null ? undefined : jobs?.find((j) => j.id === current.id);
  const next = fresh ?? current ?? (jobs === null ? null : pickJob(jobs));
  const open = jobs?.filter((j) => j.status === 'running' || j.status === 'queued') ?? [];
  return (
    <Card title="Work">
      <dl className="facts">
        <dt>Coordinator</dt>
        <dd className="mono" data-testid="coordinator-host">
          {location.host}
        </dd>
        <dt>{current === null ? 'Will work on' : 'Working on'}</dt>
        <dd data-testid="job-name">
          {next === null ? (
            <span className="detail">{jobs === null ? 'loading the job list…' : 'no job is running'}</span>
          ) : (
            <>
              <strong>{next.name}</strong>
              <span className="mono detail">{next.id}</span>
              <span className={`badge job-${next.status}`}>{next.status}</span>
            </>
          )}
        </dd>
        {next !== null && (
          <>
            <dt>Model</dt>
            <dd data-testid="job-model">
              {modelLabel(next)}
              {next.parameterCount !== null && (
                <span className="detail">{next.parameterCount.toLocaleString()} parameters</span>
              )}
            </dd>
            <dt>Dataset</dt>
            <dd data-testid="job-dataset">
              {next.spec.dataset}
              <span className="detail">{next.trainSize.toLocaleString()} training samples</span>
            </dd>
            <dt>Training</dt>
            <dd data-testid="job-settings">
              {optimizerLabel(next.spec.training.optimizer)}, learning rate {next.spec.training.learningRate},
              batch {next.spec.training.batchSize}, {next.spec.training.localSteps} local steps per shard,{' '}
              {next.spec.training.epochs} epochs
            </dd>
            <dt>Progress</dt>
            <dd>
              {next.shardsDone} / {next.totalShards} shards
              {next.latestCheckpoint?.accuracy != null && (
                <span className="detail">
                  checkpoint {next.latestCheckpoint.seq}: {(next.latestCheckpoint.accuracy * 100).toFixed(1)}{' '}
                  % test accuracy
                </span>
              )}
            </dd>
          </>
        )}
        {open.length > 1 && (
          <>
            <dt>Other jobs</dt>
            <dd>
              {open
                .filter((j) => j.id !== next?.id)
                .map((j) => j.name)
                .join(', ')}
              <span className="detail">the coordinator decides which job each shard belongs to</span>
            </dd>
          </>
        )}
        {error !== null && (
          <>
            <dt>Job list</dt>
            <dd className="detail">{error}</dd>
          </>
        )}
      </dl>
    </Card>
  );
}
