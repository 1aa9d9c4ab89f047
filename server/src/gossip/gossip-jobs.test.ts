import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { jobSpecSchema, type NodeInfo } from '@tabswarm/protocol';
import type { Checkpointing } from '../jobs/checkpointing.ts';
import { JobService } from '../jobs/job-service.ts';
import { createMetrics } from '../metrics.ts';
import { schedulerFixture, type SchedulerFixture } from '../scheduler/test-fixture.ts';
import { gossipJobs } from './index.ts';

let fixture: SchedulerFixture | undefined;
afterEach(() => fixture?.store.close());

describe('gossipJobs over the job service', () => {
  it('answers existence, the FedAvg view of a job, expected participants and the reference norm', () => {
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
      latest: () => ({ seq: 2, createdAt: 0, shardsDone: 0, accuracy: null, loss: null }),
      record: () => ({ norm: 42 }),
    } as unknown as Checkpointing;
    const adapter = gossipJobs(
      jobs,
      { get: (id) => live.get(id) as NodeInfo | undefined },
      () => checkpoints,
    );
    expect(adapter.exists(job.id)).toBe(true);
    expect(adapter.exists('job-000000000000')).toBe(false);
    for (const node of ['vaaaa', 'vbbbb', 'vcccc']) expect(scheduler.requestLease(node, 100)).not.toBeNull();
    expect(adapter.fedAvgJob(job.id)).toMatchObject({
      parameterCount: 1234,
      running: true,
      averaging: { mode: 'fedavg', quorum: 0.6 },
    });
    expect(adapter.expectedParticipants(job.id)).toBe(1); // only the connected, active one
    expect(adapter.referenceNorm(job.id)).toBe(42);
  });
});
