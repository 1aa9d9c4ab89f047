import { describe, expect, it } from 'vitest';
import { createCheckpointRepository, type NewCheckpoint } from './checkpoint-repository.ts';
import { openStore } from './store.ts';
import { tempDir } from '../test-support.ts';

const checkpoint = (seq: number, over: Partial<NewCheckpoint> = {}): NewCheckpoint => ({
  jobId: 'job-1',
  seq,
  round: seq * 3,
  shardsDone: seq * 20,
  createdAt: 1_000 + seq,
  file: `checkpoints/job-1/${seq}.tswf`,
  bytes: 407_120,
  checksum: 0xdeadbeef,
  elementCount: 101_770,
  contributors: {
    accepted: [{ nodeId: 'vA', norm: 12.5, weight: 320 }],
    rejected: [{ nodeId: 'vB', reason: 'NORM', message: 'norm 1250 is 100× the previous' }],
  },
  norm: 12.5,
  ...over,
});

describe('checkpoint repository', () => {
  it('inserts, reads back, evaluates and lists checkpoints of a job', () => {
    const store = openStore(tempDir());
    const repo = createCheckpointRepository(store.db);
    expect(repo.latest('job-1')).toBeUndefined();
    expect(repo.nextSeq('job-1')).toBe(0);

    const first = repo.insert(checkpoint(0));
    expect(first).toEqual({
      ...checkpoint(0),
      status: 'written',
      accuracy: null,
      loss: null,
      evalDurationMs: null,
      evaluatedAt: null,
      evalError: null,
    });
    repo.insert(checkpoint(1));
    repo.insert(checkpoint(0, { jobId: 'job-2' }));
    expect(repo.nextSeq('job-1')).toBe(2);
    expect(repo.latest('job-1')?.seq).toBe(1);

    expect(
      repo.setEvaluation('job-1', 1, { accuracy: 0.91, loss: 0.3, durationMs: 120, evaluatedAt: 5_000 }),
    ).toBe(true);
    expect(repo.get('job-1', 1)).toMatchObject({
      status: 'evaluated',
      accuracy: 0.91,
      loss: 0.3,
      evalDurationMs: 120,
      evaluatedAt: 5_000,
    });
    expect(repo.setEvaluationFailed('job-1', 0, 'out of memory', 6_000)).toBe(true);
    expect(repo.get('job-1', 0)).toMatchObject({ status: 'eval_failed', evalError: 'out of memory' });
    expect(repo.setEvaluation('job-1', 9, { accuracy: 1, loss: 0, durationMs: 1, evaluatedAt: 1 })).toBe(
      false,
    );

    expect(repo.list('job-1').map((c) => c.seq)).toEqual([0, 1]);
    expect(repo.list('job-2').map((c) => c.jobId)).toEqual(['job-2']);
    expect(repo.list('nope')).toEqual([]);
    expect(repo.get('job-1', 1)?.contributors.rejected[0]?.reason).toBe('NORM');
    store.close();
  });

  it('refuses a second row for the same job and seq', () => {
    const store = openStore(tempDir());
    const repo = createCheckpointRepository(store.db);
    repo.insert(checkpoint(0));
    expect(() => repo.insert(checkpoint(0))).toThrow(/UNIQUE/);
    store.close();
  });

  it('refuses rows the schema rules out', () => {
    const store = openStore(tempDir());
    const repo = createCheckpointRepository(store.db);
    expect(() => repo.insert(checkpoint(0, { seq: -1 }))).toThrow(/CHECK/);
    expect(() => repo.insert(checkpoint(0, { checksum: 2 ** 32 }))).toThrow(/CHECK/);
    expect(() => repo.insert(checkpoint(0, { bytes: 0 }))).toThrow(/CHECK/);
    store.close();
  });

  it('keeps checkpoints across a restart, and removes rows', () => {
    const dir = tempDir();
    const first = openStore(dir);
    const repo = createCheckpointRepository(first.db);
    repo.insert(checkpoint(0));
    repo.insert(checkpoint(1));
    first.close();

    const second = openStore(dir);
    const reopened = createCheckpointRepository(second.db);
    expect(reopened.latest('job-1')).toMatchObject({ seq: 1, round: 3, shardsDone: 20 });
    expect(reopened.remove('job-1', 1)).toBe(true);
    expect(reopened.remove('job-1', 1)).toBe(false);
    expect(reopened.latest('job-1')?.seq).toBe(0);
    expect(second.integrityCheck()).toBe('ok');
    second.close();
  });
});
