import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFp32Frame, jobSpecSchema, type NodeInfo } from '@tabswarm/protocol';
import type { Checkpointing } from '../jobs/checkpointing.ts';
import { JobService } from '../jobs/job-service.ts';
import { createMetrics } from '../metrics.ts';
import { schedulerFixture, type SchedulerFixture } from '../scheduler/test-fixture.ts';
import { gossipJobs } from './index.ts';

let fixture: SchedulerFixture | undefined;
afterEach(() => fixture?.store.close());

describe('gossipJobs over the job service', () => {
  it('answers existence, the FedAvg view of a job, expected participants, the reference and counted samples', async () => {
    fixture = schedulerFixture();
    const { scheduler } = fixture;
    const jobs = new JobService(
      scheduler,
      { resolve: () => Promise.resolve(undefined) },
      createMetrics(),
      pino({ level: 'silent' }),
    );
    const spec = jobSpecSchema.parse({ name: 'fedavg', averaging: { mode: 'fedavg', quorum: 0.6 } });
    const job = scheduler.createJob(spec, 10_000);
    const live = new Map<string, Pick<NodeInfo, 'status' | 'connected'>>([
      ['vaaaa', { status: 'active', connected: true }],
      ['vbbbb', { status: 'active', connected: false }],
      ['vcccc', { status: 'gone', connected: false }],
    ]);
    const checkpoints = {
      parameterCount: () => 1234,
      latestFrame: () =>
        Promise.resolve({
          seq: 2,
          frame: encodeFp32Frame({
            jobId: job.id,
            senderId: 'coordinator',
            round: 2,
            values: new Float32Array([1, 2, 3]),
          }),
        }),
    } as unknown as Checkpointing;
    const adapter = gossipJobs(
      jobs,
      { get: (id) => live.get(id) as NodeInfo | undefined },
      () => checkpoints,
    );
    expect(adapter.exists(job.id)).toBe(true);
    expect(adapter.exists('job-000000000000')).toBe(false);
    const grants = ['vaaaa', 'vbbbb', 'vcccc'].map((node) => scheduler.requestLease(node, 100));
    for (const grant of grants) expect(grant).not.toBeNull();
    expect(adapter.fedAvgJob(job.id)).toMatchObject({
      parameterCount: 1234,
      running: true,
      averaging: { mode: 'fedavg', quorum: 0.6 },
    });
    expect(adapter.expectedParticipants(job.id)).toBe(1); // only the connected, active one
    expect(Array.from((await adapter.referenceValues(job.id)) ?? [])).toEqual([1, 2, 3]);
    // FedAvg weights: the samples of each volunteer's counted completions, nothing it declares.
    expect(adapter.countedSamples(job.id, 'vaaaa')).toBe(0);
    const [a, b] = grants as [NonNullable<(typeof grants)[0]>, NonNullable<(typeof grants)[0]>];
    scheduler.completeLease(a.id, 'vaaaa', { loss: 1, samples: a.end - a.start, durationMs: 1 });
    scheduler.completeLease(b.id, 'vbbbb', { loss: 1, samples: b.end - b.start, durationMs: 1 });
    const next = scheduler.requestLease('vaaaa', 100);
    if (next === null) throw new Error('expected a lease');
    scheduler.completeLease(next.id, 'vaaaa', { loss: 1, samples: next.end - next.start, durationMs: 1 });
    expect(adapter.countedSamples(job.id, 'vaaaa')).toBe(a.end - a.start + next.end - next.start);
    expect(adapter.countedSamples(job.id, 'vbbbb')).toBe(b.end - b.start);
    expect(adapter.countedSamples(job.id, 'vcccc')).toBe(0); // a lease, but nothing completed
    expect(adapter.countedSamples('job-000000000000', 'vaaaa')).toBe(0);
  });
});
