import { describe, expect, it } from 'vitest';
import { jobSpecSchema } from './job-spec.ts';
import { leaseCompletionSchema, leaseGrantSchema } from './jobs.ts';
import { parsePayload } from './schemas.ts';

describe('validation in a job spec', () => {
  it('is off unless given, so existing jobs parse unchanged', () => {
    expect(jobSpecSchema.parse({ name: 'x' }).validation).toBeUndefined();
  });

  it('takes a replication fraction and a tolerance (default 0.05)', () => {
    expect(jobSpecSchema.parse({ name: 'x', validation: { replication: 0.2 } }).validation).toEqual({
      replication: 0.2,
      tolerance: 0.05,
    });
  });

  it.each([
    [{ replication: 1.5 }, 'validation.replication: validation.replication must be between 0 and 1'],
    [{ replication: -0.1 }, 'validation.replication: validation.replication must be between 0 and 1'],
    [{ replication: Number.NaN }, 'validation.replication: validation.replication must be a number'],
    [{ replication: '0.5' }, 'validation.replication: validation.replication must be a number'],
    [
      { replication: 0.5, tolerance: 0 },
      'validation.tolerance: validation.tolerance must be greater than 0 and at most 1',
    ],
    [{ replication: 0.5, extra: 1 }, 'validation: Unrecognized key: "extra"'],
    [{}, 'validation.replication: validation.replication must be a number'],
  ])('refuses %j with a coded message', (validation, message) => {
    const parsed = parsePayload(jobSpecSchema, { name: 'x', validation });
    expect(parsed).toEqual({ ok: false, code: 'BAD_REQUEST', message });
  });
});

describe('replicated leases on the wire', () => {
  const grant = {
    leaseId: 'lease-0123456789abcdef',
    jobId: 'job-1',
    datasetId: 'mnist',
    epoch: 0,
    shard: 1,
    start: 0,
    end: 10,
    deadline: 5,
    speculative: false,
    samplesUrl: '/api/x',
  };

  it('a grant may name the checkpoint and seed of a replica', () => {
    expect(leaseGrantSchema.parse({ ...grant, replica: { checkpoint: 3, seed: 7 } }).replica).toEqual({
      checkpoint: 3,
      seed: 7,
    });
    expect(leaseGrantSchema.safeParse({ ...grant, replica: { checkpoint: -1, seed: 7 } }).success).toBe(
      false,
    );
  });

  const completion = { leaseId: grant.leaseId, loss: 0.5, samples: 10, durationMs: 3 };
  it('a completion carries finite, bounded update statistics of exactly four projections', () => {
    expect(
      leaseCompletionSchema.safeParse({ ...completion, update: { norm: 1, projections: [1, 2, 3, 4] } })
        .success,
    ).toBe(true);
    for (const update of [
      { norm: -1, projections: [1, 2, 3, 4] },
      { norm: 1, projections: [1, 2, 3] },
      { norm: 1, projections: new Array(1000).fill(0) },
      { norm: 1, projections: [1, 2, 3, Number.POSITIVE_INFINITY] },
      { norm: 1e300, projections: [1, 2, 3, 4] },
      { norm: 1, projections: [1, 2, 3, 4], extra: true },
    ]) {
      expect(parsePayload(leaseCompletionSchema, { ...completion, update })).toMatchObject({
        ok: false,
        code: 'BAD_REQUEST',
      });
    }
  });
});
