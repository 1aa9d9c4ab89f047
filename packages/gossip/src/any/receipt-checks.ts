/**
 * What a node checks of a partner's frame before it averages with it: the header (job, sender,
 * codec, length), the payload's shape, and the decoded values (finite, norm within the job's
 * ratio of its own), the last by @tabswarm/core's contribution rule, the one the coordinator
 * applies to checkpoint and FedAvg uploads. Reductions run on the injected kernels (GPU or not).
 */
import { judgeContribution } from '@tabswarm/core';
import type { FrameHeader, FramePayload, FrameRejection } from '@tabswarm/protocol';
import type { GossipCodec } from './codecs.ts';
import type { GossipKernels } from './kernels.ts';

/** Rejections that say the sender misbehaved (quarantine); a stray frame from an old exchange does not. */
export const QUARANTINE_REASONS: ReadonlySet<string> = new Set<FrameRejection>([
  'LENGTH',
  'NON_FINITE',
  'NORM',
  'WRONG_JOB',
  'WRONG_SENDER',
  'WRONG_CODEC',
  'BAD_PAYLOAD',
]);

export interface ExpectedFrame {
  readonly jobId: string;
  readonly senderId: string;
  readonly codec: GossipCodec;
  /** Elements of this node's parameter vector. */
  readonly length: number;
  /** The exchange's codec parameter (e.g. k for top-k). */
  readonly param: number;
}

/**
 * Why a frame of the current exchange is refused by its header, or null. (The exchange id it
 * carries as its round is matched by the caller: a stray frame is not the sender's fault.)
 */
export function headerRejection(header: FrameHeader, expected: ExpectedFrame): FrameRejection | null {
  if (header.jobId !== expected.jobId) return 'WRONG_JOB';
  if (header.senderId !== expected.senderId) return 'WRONG_SENDER';
  if (header.codec !== expected.codec.frameCodec) return 'WRONG_CODEC';
  if (header.elementCount !== expected.length) return 'LENGTH';
  return null;
}

/** Why a payload does not fit the exchange's codec and length, or null. */
export function payloadRejection(payload: FramePayload, expected: ExpectedFrame): 'BAD_PAYLOAD' | null {
  return expected.codec.check(payload, expected.length, expected.param) === null ? null : 'BAD_PAYLOAD';
}

/**
 * Why decoded values are refused, or null: a non-finite entry, or a norm outside core's ratio rule
 * against this node's own norm. A top-k reference starts sparse and small, so only the upper bound
 * applies to it.
 */
export async function valuesRejection(
  kernels: GossipKernels,
  own: Float32Array,
  theirs: Float32Array,
  maxNormRatio: number,
  codec: GossipCodec,
): Promise<'LENGTH' | 'NON_FINITE' | 'NORM' | null> {
  const limits = {
    expectedLength: own.length,
    previousNorm: 0,
    maxNormRatio,
    upperOnly: codec.name === 'topk',
  };
  const nonFinite = await kernels.countNonFinite(theirs);
  if (nonFinite > 0) {
    const verdict = judgeContribution({ length: theirs.length, nonFinite, norm: Number.NaN }, limits);
    return verdict.ok ? null : verdict.reason;
  }
  const [ownNorm, theirNorm] = [await kernels.l2Norm(own), await kernels.l2Norm(theirs)];
  const verdict = judgeContribution(
    { length: theirs.length, nonFinite, norm: theirNorm },
    { ...limits, previousNorm: ownNorm },
  );
  return verdict.ok ? null : verdict.reason;
}
