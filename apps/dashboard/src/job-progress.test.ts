import { describe, expect, it } from 'vitest';
import { jobSpecSchema, type JobInfo } from '@tabswarm/protocol';
import { actionAllowed, jobProgress, sortJobs } from './job-progress.ts';

function job(overrides: Partial<JobInfo> = {}): JobInfo {
  return {
    id: 'job-000000000001',
    name: 'j',
    spec: jobSpecSchema.parse({ name: 'j', training: { epochs: 3 } }),
    status: 'running',
    statusReason: null,
    createdAt: 0,
    startedAt: 0,
    finishedAt: null,
    trainSize: 1000,
    shardSize: 100,
    shardCount: 10,
    totalShards: 30,
    epochsOpened: 1,
    shardsDone: 0,
    samplesDone: 0,
    activeLeases: 0,
    samplesPerSecond: 0,
    parameterCount: null,
    latestCheckpoint: null,
    ...overrides,
  };
}

describe('job progress', () => {
  it('counts shards over all epochs and epochs as fractions', () => {
    expect(jobProgress(job({ shardsDone: 15 }))).toEqual({
      fraction: 0.5,
      epochsDone: 1.5,
      epochs: 3,
      shardsDone: 15,
      totalShards: 30,
    });
    expect(jobProgress(job({ shardsDone: 30 })).epochsDone).toBe(3);
    expect(jobProgress(job({ totalShards: 0, shardCount: 0 }))).toMatchObject({ fraction: 0, epochsDone: 0 });
  });

  it('allows the controls the coordinator accepts in each status', () => {
    expect(actionAllowed('running', 'pause')).toBe(true);
    expect(actionAllowed('queued', 'pause')).toBe(true);
    expect(actionAllowed('paused', 'pause')).toBe(false);
    expect(actionAllowed('paused', 'resume')).toBe(true);
    expect(actionAllowed('running', 'resume')).toBe(false);
    expect(actionAllowed('paused', 'cancel')).toBe(true);
    for (const done of ['completed', 'failed', 'cancelled'] as const) {
      expect(actionAllowed(done, 'cancel')).toBe(false);
      expect(actionAllowed(done, 'pause')).toBe(false);
      expect(actionAllowed(done, 'resume')).toBe(false);
    }
  });

  it('lists the newest job first', () => {
    const jobs = [
      job({ id: 'a', createdAt: 1 }),
      job({ id: 'b', createdAt: 3 }),
      job({ id: 'c', createdAt: 2 }),
    ];
    expect(sortJobs(jobs).map((j) => j.id)).toEqual(['b', 'c', 'a']);
  });
});
