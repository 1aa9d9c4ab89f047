import { describe, expect, it } from 'vitest';
import type { ConsensusPoint, JobInfo, LogEvent, NodeLinks } from '@tabswarm/protocol';
import { jobSpecSchema } from '@tabswarm/protocol';
import { filterEvents, NO_JOB } from './event-filter.ts';
import {
  INITIAL_STATE,
  MAX_EVENTS,
  samplesRate,
  withConsensusPoint,
  withEvents,
  withJobs,
  withLinks,
} from './store.ts';

const event = (seq: number, overrides: Partial<LogEvent> = {}): LogEvent => ({
  seq,
  at: seq * 1000,
  kind: 'join',
  level: 'info',
  jobId: null,
  nodeId: 'v1',
  message: `event ${seq}`,
  ...overrides,
});

function job(id: string, samplesDone: number): JobInfo {
  return {
    id,
    name: id,
    spec: jobSpecSchema.parse({ name: id }),
    status: 'running',
    statusReason: null,
    createdAt: 0,
    startedAt: 0,
    finishedAt: null,
    trainSize: 8000,
    shardSize: 320,
    shardCount: 25,
    totalShards: 50,
    epochsOpened: 1,
    shardsDone: 0,
    samplesDone,
    activeLeases: 0,
    samplesPerSecond: 0,
    parameterCount: null,
    latestCheckpoint: null,
  };
}

describe('event merging', () => {
  it('appends live events and merges overlapping history by seq', () => {
    let events = withEvents([], [event(1)]);
    events = withEvents(events, [event(2)]);
    events = withEvents(events, [event(1), event(2), event(3), event(5)]);
    events = withEvents(events, [event(4)]);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps at most MAX_EVENTS, the newest', () => {
    const many = Array.from({ length: MAX_EVENTS + 10 }, (_, i) => event(i + 1));
    const events = withEvents([], many);
    expect(events).toHaveLength(MAX_EVENTS);
    expect(events[0]?.seq).toBe(11);
    expect(withEvents(events, [event(MAX_EVENTS + 11)])[0]?.seq).toBe(12);
  });
});

describe('event filter', () => {
  const events = [
    event(1),
    event(2, { kind: 'checkpoint', jobId: 'job-a' }),
    event(3, { kind: 'lease-expired', jobId: 'job-b', level: 'warn' }),
    event(4, { kind: 'checkpoint', jobId: 'job-b' }),
  ];
  it('filters by kind and job, newest first', () => {
    expect(filterEvents(events, { kinds: [], jobId: null }).map((e) => e.seq)).toEqual([4, 3, 2, 1]);
    expect(filterEvents(events, { kinds: ['checkpoint'], jobId: null }).map((e) => e.seq)).toEqual([4, 2]);
    expect(filterEvents(events, { kinds: [], jobId: 'job-b' }).map((e) => e.seq)).toEqual([4, 3]);
    expect(filterEvents(events, { kinds: ['checkpoint', 'join'], jobId: NO_JOB }).map((e) => e.seq)).toEqual([
      1,
    ]);
    expect(filterEvents(events, { kinds: [], jobId: null }, 2).map((e) => e.seq)).toEqual([4, 3]);
  });
});

describe('job samples/s', () => {
  it('is measured from samplesDone marks over the window, and falls to 0 when a job stops moving', () => {
    let state = withJobs(INITIAL_STATE, [job('j', 0)], 0);
    state = withJobs(state, [job('j', 500)], 5_000);
    state = withJobs(state, [job('j', 1000)], 10_000);
    expect(state.jobs.get('j')?.samplesDone).toBe(1000);
    expect(samplesRate(state.jobMarks.get('j'), 10_000)).toBeCloseTo(100);
    // Twenty seconds on with no update: measured up to now.
    expect(samplesRate(state.jobMarks.get('j'), 20_000)).toBeCloseTo(1000 / 20);
    expect(samplesRate(state.jobMarks.get('j'), 60_000)).toBe(0);
    expect(samplesRate(undefined, 0)).toBe(0);
  });

  it('replaces the whole list on a snapshot', () => {
    const state = withJobs(withJobs(INITIAL_STATE, [job('a', 0)], 0), [job('b', 0)], 1, true);
    expect([...state.jobs.keys()]).toEqual(['b']);
  });
});

describe('gossip feeds', () => {
  const links = (nodeId: string, reportedAt: number): NodeLinks => ({
    nodeId,
    reportedAt,
    links: [],
    quarantined: [],
  });

  it('keeps the newer link report of each node; a REST list replaces the nodes held', () => {
    let held = withLinks(new Map(), [links('a', 10), links('b', 10)]);
    held = withLinks(held, [links('a', 20)]);
    expect(held.get('a')?.reportedAt).toBe(20);
    held = withLinks(held, [links('a', 15)], true);
    expect(held.get('a')?.reportedAt).toBe(20);
    expect(held.has('b')).toBe(false);
  });

  it('keeps at most `max` live consensus points, the newest', () => {
    const p = (at: number) => ({ at }) as ConsensusPoint;
    let points: readonly ConsensusPoint[] = [];
    for (let i = 0; i < 5; i++) points = withConsensusPoint(points, p(i), 3);
    expect(points.map((x) => x.at)).toEqual([2, 3, 4]);
  });
});
