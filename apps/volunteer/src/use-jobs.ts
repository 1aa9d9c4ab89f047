/** The coordinator's jobs (GET /api/jobs), re-read every few seconds while the page is open. */
import { useEffect, useState } from 'react';
import type { JobInfo } from '@tabswarm/protocol';
import { HttpCoordinatorApi, errorText } from '@tabswarm/trainer';

export interface JobsState {
  readonly jobs: readonly JobInfo[] | null;
  readonly error: string | null;
}

export function useJobs(intervalMs = 5_000): JobsState {
  const [state, setState] = useState<JobsState>({ jobs: null, error: null });
  useEffect(() => {
    const api = new HttpCoordinatorApi(location.origin);
    let cancelled = false;
    const load = async (): Promise<void> => {
      try {
        const jobs = await api.listJobs();
        if (!cancelled) setState({ jobs, error: null });
      } catch (error) {
        if (!cancelled) setState((s) => ({ jobs: s.jobs, error: errorText(error) }));
      }
    };
    void load();
    const timer = setInterval(() => void load(), intervalMs);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [intervalMs]);
  return state;
}
