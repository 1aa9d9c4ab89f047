/**
 * One job, live: its state from REST first, then socket.io job updates and log events, each of
 * which (throttled) re-fetches the job's metrics, since completions are not streamed one by one.
 * Charts, controls, downloads, the volunteers that trained it and its events.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { isStraggler } from '@tabswarm/core';
import {
  type CheckpointSummary,
  type ConsensusSeries,
  type JobInfo,
  type LogEvent,
  type NodeInfo,
} from '@tabswarm/protocol';
import { ApiError, checkpointUrls, type JobAction } from './api.ts';
import {
  consensusOptions,
  testMetricsOptions,
  throughputOptions,
  trainingLossOptions,
} from './chart-options.ts';
import { metricsCsv } from './csv-export.ts';
import { EventLog } from './EventLog.tsx';
import {
  formatAge,
  formatClock,
  formatDateTime,
  formatLoss,
  formatNumber,
  formatPercent,
  NONE,
} from './format.ts';
import { actionAllowed, jobProgress } from './job-progress.ts';
import {
  consensusChart,
  JobSeries,
  MAX_CHART_POINTS,
  MAX_NODE_SERIES,
  type ConsensusChart,
  type JobCharts,
} from './job-series.ts';
import { deriveStatus } from './node-view.ts';
import { routeHref } from './routes.ts';
import { reportWriteError, useServices } from './services.ts';
import { useStoreState, withJobs } from './store.ts';
import { throttledTask, type ThrottledTask } from './throttle.ts';
import { ProgressBar, READ_ONLY_HINT_ID } from './ui.tsx';
import { UPlotChart } from './UPlotChart.tsx';

type Props = {
  readonly jobId: string;
  readonly canWrite: boolean;
  readonly serverNow: number;
};

/** Metrics are re-fetched at most this often, however many updates arrive. */
export const METRICS_REFRESH_MS = 1_000;

/** A new consensus reply is taken only when it says something new (it is re-fetched with the metrics). */
function sameConsensus(a: ConsensusSeries | null, b: ConsensusSeries): boolean {
  if (a === null) return false;
  const lastA = a.points[a.points.length - 1];
  const lastB = b.points[b.points.length - 1];
  return (
    a.totals.exchanges === b.totals.exchanges &&
    a.buckets.length === b.buckets.length &&
    lastA?.at === lastB?.at &&
    lastA?.nodeId === lastB?.nodeId
  );
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

function lastEventSeq(events: readonly LogEvent[], jobId: string): number {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e?.jobId === jobId) return e.seq;
  }
  return 0;
}

function saveFile(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function JobControls({ job, canWrite }: { readonly job: JobInfo; readonly canWrite: boolean }) {
  const { api, store, tokens } = useServices();
  const [busy, setBusy] = useState<JobAction | null>(null);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = async (action: JobAction): Promise<void> => {
    setBusy(action);
    setError(null);
    setConfirmCancel(false);
    try {
      const updated = await api.control(job.id, action, tokens.get().token);
      store.update((s) => withJobs(s, [updated], Date.now()));
    } catch (e) {
      setError(reportWriteError(tokens, e));
    } finally {
      setBusy(null);
    }
  };

  const button = (action: JobAction, label: string, primary = false) => (
    <button
      type="button"
      className={`button${primary ? ' primary' : ''}`}
      data-testid={`job-${action}`}
      disabled={!canWrite || busy !== null || !actionAllowed(job.status, action)}
      aria-describedby={canWrite ? undefined : READ_ONLY_HINT_ID}
      onClick={() => (action === 'cancel' ? setConfirmCancel(true) : void run(action))}
    >
      {busy === action ? `${label}…` : label}
    </button>
  );

  return (
    <div className="controls" role="group" aria-label="Job controls">
      {button('pause', 'Pause')}
      {button('resume', 'Resume', true)}
      {button('cancel', 'Cancel job')}
      {confirmCancel && (
        <span className="confirm" role="alertdialog" aria-label="Confirm cancelling">
          Cancel this job for good?{' '}
          <button
            type="button"
            className="button danger small"
            data-testid="job-cancel-confirm"
            onClick={() => void run('cancel')}
          >
            Yes, cancel it
          </button>{' '}
          <button type="button" className="button small" onClick={() => setConfirmCancel(false)} autoFocus>
            Keep it
          </button>
        </span>
      )}
      {!canWrite && <span className="detail">Controls need the operator token.</span>}
      {error !== null && (
        <p className="error" role="alert" data-testid="job-control-error">
          {error}
        </p>
      )}
    </div>
  );
}

function Charts({
  charts,
  checkpoints,
  consensusData,
  averaging,
}: {
  readonly charts: JobCharts;
  readonly checkpoints: number;
  readonly consensusData: ConsensusChart;
  readonly averaging: string;
}) {
  const nodeKey = charts.nodeIds.join(',');
  const testTime = useMemo(() => testMetricsOptions('time'), []);
  const testSamples = useMemo(() => testMetricsOptions('samples'), []);
  const loss = useMemo(() => trainingLossOptions(nodeKey === '' ? [] : nodeKey.split(',')), [nodeKey]);
  const throughput = useMemo(() => throughputOptions(), []);
  const consensus = useMemo(() => consensusOptions(), []);
  const evaluated = charts.testByTime[0].length;
  const completions = charts.trainingLoss[0].length;
  const waitingForTest =
    evaluated > 0 ? null : checkpoints > 0 ? 'Evaluating the first checkpoint…' : 'No checkpoint yet';
  const noTraining = completions > 0 ? null : 'No shard completed yet';
  return (
    <div className="charts">
      <UPlotChart
        title="Test accuracy and loss over time"
        options={testTime}
        data={charts.testByTime}
        testId="chart-test-time"
        empty={waitingForTest}
      >
        Each point is a checkpoint evaluated on the test set; {evaluated} so far.
      </UPlotChart>
      <UPlotChart
        title="Test accuracy and loss against samples trained"
        options={testSamples}
        data={charts.testBySamples}
        testId="chart-test-samples"
        empty={waitingForTest}
      >
        Samples are the counted training samples before each checkpoint.
      </UPlotChart>
      <UPlotChart
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
      </UPlotChart>
      <UPlotChart
        title="Throughput"
        options={throughput}
        data={charts.throughput}
        testId="chart-throughput"
        empty={noTraining}
      >
        Counted samples per second over a trailing 10 s window.
      </UPlotChart>
      <UPlotChart
        title="Consensus distance"
        options={consensus}
        data={consensusData.data}
        testId="chart-consensus"
        empty={consensusEmpty(consensusData, averaging)}
      >
        How far apart the volunteers’ models are: the mean of ‖mine − theirs‖ / ‖mine‖ over the successful
        exchanges of each interval ({formatNumber(consensusData.measured)} of{' '}
        {formatNumber(consensusData.exchanges)} exchanges); it goes to zero when training stops.
      </UPlotChart>
    </div>
  );
}

function ModelDownloads({
  job,
  checkpoints,
}: {
  readonly job: JobInfo;
  readonly checkpoints: readonly CheckpointSummary[];
}) {
  const latest = checkpoints[checkpoints.length - 1] ?? job.latestCheckpoint;
  if (latest === null || latest === undefined) {
    return <p className="empty">No checkpoint yet.</p>;
  }
  const urls = checkpointUrls(job.id, latest.seq);
  const final = job.status === 'completed';
  const absolute = `${window.location.origin}${urls.modelJson}`;
  return (
    <div className="model-download" data-testid="model-download" data-seq={latest.seq}>
      <p>
        <strong>{final ? 'Final model' : 'Latest model'}</strong> (checkpoint {latest.seq}, accuracy{' '}
        {formatPercent(latest.accuracy)}), TensorFlow.js layers format:
      </p>
      <div className="actions">
        <a
          className="button primary"
          href={urls.modelJson}
          download="model.json"
          data-testid="download-model-json"
        >
          model.json
        </a>
        <a
          className="button"
          href={urls.weightsBin}
          download="weights.bin"
          data-testid="download-weights-bin"
        >
          weights.bin
        </a>
      </div>
      <p className="detail">
        Save both side by side, or load straight from the coordinator:{' '}
        <code>tf.loadLayersModel(&apos;{absolute}&apos;)</code>
      </p>
    </div>
  );
}

function CheckpointTable({
  jobId,
  checkpoints,
  samplesAt,
}: {
  readonly jobId: string;
  readonly checkpoints: readonly CheckpointSummary[];
  readonly samplesAt: (shards: number) => number;
}) {
  if (checkpoints.length === 0) return null;
  return (
    <div className="table-scroll short">
      <table className="table" data-testid="checkpoint-table">
        <thead>
          <tr>
            <th scope="col" className="num">
              Checkpoint
            </th>
            <th scope="col">Taken</th>
            <th scope="col" className="num">
              Shards
            </th>
            <th scope="col" className="num">
              Samples
            </th>
            <th scope="col" className="num">
              Accuracy
            </th>
            <th scope="col" className="num">
              Loss
            </th>
            <th scope="col">Download</th>
          </tr>
        </thead>
        <tbody>
          {[...checkpoints].reverse().map((c) => {
            const urls = checkpointUrls(jobId, c.seq);
            return (
              <tr key={c.seq} data-testid="checkpoint-row" data-seq={c.seq}>
                <td className="num">{c.seq}</td>
                <td title={formatDateTime(c.createdAt)}>{formatClock(c.createdAt)}</td>
                <td className="num">{formatNumber(c.shardsDone)}</td>
                <td className="num">{formatNumber(samplesAt(c.shardsDone))}</td>
                <td className="num">{c.accuracy === null ? 'evaluating…' : formatPercent(c.accuracy)}</td>
                <td className="num">{formatLoss(c.loss)}</td>
                <td className="links">
                  <a
                    href={urls.modelJson}
                    download="model.json"
                    aria-label={`checkpoint ${c.seq} model.json`}
                  >
                    model.json
                  </a>{' '}
                  <a
                    href={urls.weightsBin}
                    download="weights.bin"
                    aria-label={`checkpoint ${c.seq} weights.bin`}
                  >
                    weights.bin
                  </a>{' '}
                  <a href={urls.frame} aria-label={`checkpoint ${c.seq} parameter frame`}>
                    frame
                  </a>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function Volunteers({
  series,
  nodes,
  serverNow,
}: {
  readonly series: JobSeries;
  readonly nodes: ReadonlyMap<string, NodeInfo>;
  readonly serverNow: number;
}) {
  const stats = series.nodeStats().sort((a, b) => b.counted - a.counted || a.nodeId.localeCompare(b.nodeId));
  if (stats.length === 0) {
    return (
      <p className="empty" data-testid="job-volunteers-empty">
        No volunteer has completed a shard of this job yet.
      </p>
    );
  }
  return (
    <div className="table-scroll short">
      <table className="table" data-testid="job-volunteers">
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Shards
            </th>
            <th scope="col" className="num">
              Samples
            </th>
            <th scope="col" className="num">
              Last loss
            </th>
            <th scope="col">Last shard</th>
          </tr>
        </thead>
        <tbody>
          {stats.map((s) => {
            const node = nodes.get(s.nodeId);
            const status = node === undefined ? 'unknown' : deriveStatus(node, serverNow);
            const lease = node?.health?.lease ?? null;
            return (
              <tr
                key={s.nodeId}
                data-testid="job-volunteer-row"
                data-node-id={s.nodeId}
                className={status === 'gone' ? 'gone' : undefined}
              >
                <td className="mono">{s.nodeId}</td>
                <td>
                  <span className={`badge status-${status}`}>{status}</span>
                  {lease !== null && isStraggler(lease, serverNow) && (
                    <span className="detail"> (slow lease)</span>
                  )}
                </td>
                <td className="num">
                  {formatNumber(s.counted)}
                  {s.completions > s.counted && (
                    <span className="detail"> (+{s.completions - s.counted} late)</span>
                  )}
                </td>
                <td className="num">{formatNumber(s.samples)}</td>
                <td className="num">{formatLoss(s.lastLoss)}</td>
                <td>{formatAge(s.lastAt, serverNow)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function JobPage({ jobId, canWrite, serverNow }: Props) {
  const { api, store } = useServices();
  const state = useStoreState(store);
  const job = state.jobs.get(jobId) ?? null;
  const [loadError, setLoadError] = useState<string | null>(null);
  const [metricsError, setMetricsError] = useState<string | null>(null);
  const [series] = useState(() => new JobSeries());
  const [version, setVersion] = useState(0);
  const [csvBusy, setCsvBusy] = useState(false);
  const [consensusSeries, setConsensusSeries] = useState<ConsensusSeries | null>(null);
  const refresher = useRef<ThrottledTask | null>(null);

  useEffect(() => {
    let live = true;
    api.job(jobId).then(
      (fetched) => {
        if (live) store.update((s) => withJobs(s, [fetched], Date.now()));
      },
      (error: unknown) => {
        if (!live) return;
        setLoadError(
          error instanceof ApiError && error.status === 404
            ? `There is no job ${jobId} on this coordinator.`
            : `Could not load the job: ${error instanceof Error ? error.message : String(error)}`,
        );
      },
    );
    return () => {
      live = false;
    };
  }, [api, store, jobId]);

  useEffect(() => {
    let live = true;
    const task = throttledTask(async () => {
      try {
        const [metrics, consensus] = await Promise.all([
          api.metrics(jobId),
          // The consensus series is optional: a failure leaves the last one (and live points) drawn.
          api.consensus(jobId).catch(() => null),
        ]);
        if (!live) return;
        if (series.ingest(metrics)) setVersion(series.version);
        if (consensus !== null)
          setConsensusSeries((held) => (sameConsensus(held, consensus) ? held : consensus));
        setMetricsError(null);
      } catch (error) {
        if (live) setMetricsError(error instanceof Error ? error.message : String(error));
      }
    }, METRICS_REFRESH_MS);
    refresher.current = task;
    task.request();
    return () => {
      live = false;
      task.dispose();
      refresher.current = null;
    };
  }, [api, jobId, series]);

  const liveConsensus = state.consensus;
  const consensusData = useMemo(
    () => consensusChart(consensusSeries, liveConsensus, jobId),
    [consensusSeries, liveConsensus, jobId],
  );

  const eventSeq = lastEventSeq(state.events, jobId);
  useEffect(() => {
    refresher.current?.request();
  }, [job, eventSeq]);

  const downloadCsv = async (): Promise<void> => {
    setCsvBusy(true);
    try {
      const metrics = await api.metrics(jobId);
      if (series.ingest(metrics)) setVersion(series.version);
      saveFile(
        `${jobId}-metrics.csv`,
        'text/csv',
        metricsCsv(metrics, (n) => series.samplesAtShards(n)),
      );
    } catch (error) {
      setMetricsError(error instanceof Error ? error.message : String(error));
    } finally {
      setCsvBusy(false);
    }
  };

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

  const charts = series.charts();
  const checkpoints = series.checkpoints;
  const progress = jobProgress(job);
  const latest = job.latestCheckpoint;
  return (
    <div className="job-page" data-testid="job-page" data-job-id={job.id} data-metrics-version={version}>
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
          <div>
            <dt>Samples trained</dt>
            <dd data-testid="job-samples-done">{formatNumber(job.samplesDone)}</dd>
          </div>
          <div>
            <dt>Samples/s (last minute)</dt>
            <dd data-testid="job-samples-per-sec">
              {job.status === 'running' ? formatNumber(series.samplesPerSecond, 1) : NONE}
            </dd>
          </div>
          <div>
            <dt>Test accuracy</dt>
            <dd data-testid="job-accuracy">{formatPercent(latest?.accuracy)}</dd>
          </div>
          <div>
            <dt>Test loss</dt>
            <dd>{formatLoss(latest?.loss)}</dd>
          </div>
          <div>
            <dt>Checkpoints</dt>
            <dd data-testid="checkpoint-count">{checkpoints.length}</dd>
          </div>
          <div>
            <dt>Shards leased now</dt>
            <dd data-testid="job-active-leases">{job.activeLeases}</dd>
          </div>
          <div>
            <dt>Model</dt>
            <dd>
              {job.spec.model.kind === 'preset' ? job.spec.model.preset : 'uploaded topology'}
              {job.parameterCount !== null && (
                <span className="detail"> · {formatNumber(job.parameterCount)} parameters</span>
              )}
            </dd>
          </div>
          <div>
            <dt>Dataset</dt>
            <dd className="mono">{job.spec.dataset}</dd>
          </div>
          <div>
            <dt>Started</dt>
            <dd>{job.startedAt === null ? NONE : formatDateTime(job.startedAt)}</dd>
          </div>
        </dl>
        {metricsError !== null && (
          <p className="error" role="alert">
            Metrics could not be loaded: {metricsError}
          </p>
        )}
      </section>

      <section className="card" aria-labelledby="charts-heading">
        <h2 id="charts-heading">Convergence</h2>
        <Charts
          charts={charts}
          checkpoints={checkpoints.length}
          consensusData={consensusData}
          averaging={job.spec.averaging.mode}
        />
      </section>

      <section className="card" aria-labelledby="downloads-heading">
        <div className="card-header">
          <h2 id="downloads-heading">Downloads</h2>
          <button
            type="button"
            className="button small"
            data-testid="download-metrics-csv"
            disabled={csvBusy}
            onClick={() => void downloadCsv()}
          >
            Metrics as CSV
          </button>
        </div>
        <ModelDownloads job={job} checkpoints={checkpoints} />
        <CheckpointTable
          jobId={job.id}
          checkpoints={checkpoints}
          samplesAt={(n) => series.samplesAtShards(n)}
        />
      </section>
      <section className="card" aria-labelledby="volunteers-heading">
        <h2 id="volunteers-heading">
          Volunteers on this job{' '}
          <span className="detail" data-testid="job-volunteer-count">
            {series.nodeStats().length}
          </span>
        </h2>
        <Volunteers series={series} nodes={state.nodes} serverNow={serverNow} />
      </section>

      <section className="card" aria-labelledby="job-events-heading">
        <div className="card-header">
          <h2 id="job-events-heading">Events</h2>
          <a href={routeHref({ page: 'events', kinds: [], jobId: job.id })}>Filter all events</a>
        </div>
        <EventLog events={state.events} jobs={state.jobs} filter={{ kinds: [], jobId: job.id }} limit={50} />
      </section>

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
