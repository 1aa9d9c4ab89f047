/**
 * A job page's data: the job from REST first (then from the store, fed by socket.io job updates),
 * and its metrics and consensus series, re-fetched (throttled) on each job update and each log
 * event of the job, since completions are not streamed one by one.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { ConsensusSeries, JobInfo, LogEvent } from '@tabswarm/protocol';
import { useStoreState } from '@tabswarm/ui';
import { ApiError, type JobMetrics } from './api.ts';
import { consensusChart, JobSeries, type ConsensusChart } from './job-series.ts';
import { useServices } from './services.ts';
import { withJobs, type DashboardState } from './store.ts';
import { throttledTask, type ThrottledTask } from './throttle.ts';

/** Metrics are re-fetched at most this often, however many updates arrive. */
export const METRICS_REFRESH_MS = 1_000;

export interface JobData {
  readonly state: DashboardState;
  readonly job: JobInfo | null;
  /** Why the job could not be loaded, when it could not. */
  readonly loadError: string | null;
  /** Checkpoints, completions and the chart columns, accumulated from the metrics replies. */
  readonly series: JobSeries;
  /** Bumped whenever `series` takes something new. */
  readonly version: number;
  readonly metricsError: string | null;
  readonly consensus: ConsensusChart;
  /** Fetches the metrics now (for an export), taking them into the series; null after a failure, which is shown. */
  readonly fetchMetrics: () => Promise<JobMetrics | null>;
}

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

function lastEventSeq(events: readonly LogEvent[], jobId: string): number {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e?.jobId === jobId) return e.seq;
  }
  return 0;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function useJobData(jobId: string): JobData {
  const { api, store } = useServices();
  const state = useStoreState(store);
  const job = state.jobs.get(jobId) ?? null;
  const [loadError, setLoadError] = useState<string | null>(null);
  const [metricsError, setMetricsError] = useState<string | null>(null);
  const [series] = useState(() => new JobSeries());
  const [version, setVersion] = useState(0);
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
            : `Could not load the job: ${message(error)}`,
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
        if (live) setMetricsError(message(error));
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
  const consensus = useMemo(
    () => consensusChart(consensusSeries, liveConsensus, jobId),
    [consensusSeries, liveConsensus, jobId],
  );

  const eventSeq = lastEventSeq(state.events, jobId);
  useEffect(() => {
    refresher.current?.request();
  }, [job, eventSeq]);

  const fetchMetrics = async (): Promise<JobMetrics | null> => {
    try {
      const metrics = await api.metrics(jobId);
      if (series.ingest(metrics)) setVersion(series.version);
      return metrics;
    } catch (error) {
      setMetricsError(message(error));
      return null;
    }
  };

  return { state, job, loadError, series, version, metricsError, consensus, fetchMetrics };
}
