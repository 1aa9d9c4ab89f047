import { describe, expect, it } from 'vitest';
import { mulberry32, randomVector, validateContribution } from '@tabswarm/core';
import type { FrameHeader } from '@tabswarm/protocol';
import { createCodec } from './codecs.ts';
import { referenceKernels } from './kernel-library.ts';
import { basicKernels } from './kernels.ts';
import { headerRejection, payloadRejection, valuesRejection } from './receipt-checks.ts';

const fp32 = createCodec('fp32', basicKernels);
const topk = createCodec('topk', referenceKernels, { topkFraction: 0.1 });
const expected = { jobId: 'job-1', senderId: 'peer-b', codec: fp32, length: 4, param: 0 };
const header = (changes: Partial<FrameHeader> = {}): FrameHeader => ({
  version: 1,
  codec: 'fp32',
  jobId: 'job-1',
  senderId: 'peer-b',
  round: 7,
  elementCount: 4,
  payloadBytes: 16,
  checksum: 0,
  ...changes,
});

describe('checks on a partner’s frame', () => {
  it('refuses a header for another job, sender, codec or length', () => {
    expect(headerRejection(header(), expected)).toBeNull();
    expect(headerRejection(header({ jobId: 'job-2' }), expected)).toBe('WRONG_JOB');
    expect(headerRejection(header({ senderId: 'peer-c' }), expected)).toBe('WRONG_SENDER');
    expect(headerRejection(header({ codec: 'fp16' }), expected)).toBe('WRONG_CODEC');
    expect(headerRejection(header({ elementCount: 5 }), expected)).toBe('LENGTH');
  });

  it('refuses a payload that does not fit the codec', () => {
    expect(payloadRejection({ codec: 'fp32', values: new Float32Array(4) }, expected)).toBeNull();
    expect(payloadRejection({ codec: 'fp32', values: new Float32Array(3) }, expected)).toBe('BAD_PAYLOAD');
  });

  it('refuses non-finite values and norms beyond the ratio of its own, both ways', async () => {
    const own = new Float32Array([1, 1, 1, 1]);
    const check = (theirs: number[]) =>
      valuesRejection(basicKernels, own, new Float32Array(theirs), 10, fp32);
    expect(await check([2, 2, 2, 2])).toBeNull();
    expect(await check([1, Number.NaN, 1, 1])).toBe('NON_FINITE');
    expect(await check([100, 100, 100, 100])).toBe('NORM');
    expect(await check([0.01, 0.01, 0.01, 0.01])).toBe('NORM');
    // A top-k reference starts sparse and small: only the upper bound applies.
    const sparse = new Float32Array([0.01, 0, 0, 0]);
    expect(await valuesRejection(referenceKernels, own, sparse, 10, topk)).toBeNull();
    expect(await valuesRejection(referenceKernels, own, new Float32Array([100, 0, 0, 0]), 10, topk)).toBe(
      'NORM',
    );
  });

  it('decides as the coordinator decides an upload with the same reference norm (property)', async () => {
    const random = mulberry32(21);
    for (let i = 0; i < 300; i++) {
      const n = 1 + Math.floor(random() * 16);
      const own = randomVector(random, n, 10 ** (random() * 2));
      const theirs = randomVector(random, n, 10 ** (random() * 4 - 2));
      if (random() < 0.1) theirs[0] = Number.POSITIVE_INFINITY;
      const ratio = 1 + random() * 20;
      const tab = await valuesRejection(basicKernels, own, theirs, ratio, fp32);
      const coordinator = validateContribution(theirs, {
        expectedLength: n,
        previousNorm: await basicKernels.l2Norm(own),
        maxNormRatio: ratio,
      });
      // The tab's kernels return fp32 norms, the coordinator's are float64: they may differ only
      // within fp32 rounding of the bound, which these random cases essentially never hit.
      expect(tab).toBe(coordinator.ok ? null : coordinator.reason);
    }
  });
});
