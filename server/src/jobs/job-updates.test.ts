/**
 * Job progress reaches dashboards coalesced: a swarm completing shards by the thousand must not
 * send every dashboard a job update per shard. Status changes still go out at once, and the update
 * that does go out carries the job's state at that time.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JobInfo } from '@tabswarm/protocol';
import { createMetrics } from '../metrics.ts';
import { result, schedulerFixture, spec, type SchedulerFixture } from '../scheduler/test-fixture.ts';
import { JOB_UPDATE_INTERVAL_MS, JobService } from './job-service.ts';

let f: SchedulerFixture | undefined;
afterEach(() => {
  vi.useRealTimers();
  f?.store.close();
});

describe('job updates to dashboards', () => {
  it('sends one progress update per interval, with the state at that time, and status changes at once', async () => {
    // Only the timers the coalescing uses are fake: completions still commit on setImmediate.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    f = schedulerFixture();
    const jobs = new JobService(
      f.scheduler,
      { resolve: () => Promise.resolve(undefined) },
      createMetrics(),
      pino({ level: 'silent' }),
    );
    const updates: JobInfo[] = [];
    jobs.setNotifier({ jobChanged: (job) => updates.push(job), leaseCancelled: () => {} });
    const job = f.scheduler.createJob(spec({ training: { batchSize: 10, localSteps: 1, epochs: 1 } }), 300);

    for (let i = 0; i < 20; i++) {
      const lease = f.scheduler.requestLease(`v${i}`);
      if (!lease) throw new Error('no lease');
      await jobs.complete(lease.nodeId, { leaseId: lease.id, ...result });
    }
    // Creation and the first completion (which started the job) are status changes: they went
    // out at once; the progress of 20 completions did not.
    expect(updates.map((u) => [u.status, u.shardsDone])).toEqual([
      ['queued', 0],
      ['running', 0],
    ]);

    vi.advanceTimersByTime(JOB_UPDATE_INTERVAL_MS);
    expect(updates).toHaveLength(3);
    expect(updates[2]).toMatchObject({ id: job.id, shardsDone: 20, status: 'running' });

    // Nothing new, nothing sent.
    vi.advanceTimersByTime(JOB_UPDATE_INTERVAL_MS * 4);
    expect(updates).toHaveLength(3);
    jobs.close();
  });
});
