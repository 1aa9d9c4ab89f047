/** Which job a volunteer starts on, before the coordinator leases it anything. */
import type { JobInfo } from '@tabswarm/protocol';

/**
 * The job a volunteer will most likely be given: a running (else queued) job of the highest
 * priority, oldest first, as the coordinator's fair share favours it when nobody works on it yet.
 */
export function pickJob(jobs: readonly JobInfo[]): JobInfo | null {
  const open = jobs.filter((j) => j.status === 'running' || j.status === 'queued');
  open.sort(
    (a, b) =>
      (a.status === 'running' ? 0 : 1) - (b.status === 'running' ? 0 : 1) ||
      b.spec.priority - a.spec.priority ||
      a.createdAt - b.createdAt,
  );
  return open[0] ?? null;
}
