/**
 * Codecs as small strategy objects, one per job-spec codec name. fp32 sends the model whole; fp16,
 * int8 and top-k are differential: they code the difference between the model and the reference
 * the partner already holds for it (the pair state, see averager.ts), so what a lossy code leaves
 * out stays in that difference and goes out in later exchanges: error feedback through the
 * reference, as in CHOCO-gossip. The arithmetic is the kernel library's (GossipKernels).
 */
import type { FrameCodec, FramePayload, GossipCodecName } from '@tabswarm/protocol';
import { addInto } from './averaging-maths.ts';
import type { GossipKernels } from './kernels.ts';

export interface GossipCodec {
  readonly name: GossipCodecName;
  readonly frameCodec: FrameCodec;
  /** True when exchanges are coded against the per-pair reference (every codec but fp32). */
  readonly differential: boolean;
  /** The parameter both sides must agree on for a vector of `length`: int8 block size, top-k count; 0 for none. */
  param(length: number): number;
  encode(x: Float32Array, param: number): Promise<FramePayload>;
  /** Structural check of a received payload against the agreed shape; null when it fits. */
  check(payload: FramePayload, length: number, param: number): string | null;
  /** target += the dense vector the payload stands for. */
  accumulate(target: Float32Array, payload: FramePayload): Promise<void>;
}

export interface CodecOptions {
  /** Fraction of entries a top-k exchange sends (the job spec's topkFraction). */
  readonly topkFraction?: number;
  readonly int8BlockSize?: number;
}

export const DEFAULT_INT8_BLOCK_SIZE = 256;

function need<F>(fn: F | undefined, codec: string, what: string): F {
  if (fn === undefined) {
    throw new Error(
      `codec ${codec} needs kernels.${what}: pass the kernel library (@tabswarm/gossip/kernel-library)`,
    );
  }
  return fn;
}

const fp32Codec: GossipCodec = {
  name: 'fp32',
  frameCodec: 'fp32',
  differential: false,
  param: () => 0,
  encode: (x) => Promise.resolve({ codec: 'fp32', values: x }),
  check: (payload, length) =>
    payload.codec !== 'fp32'
      ? 'not an fp32 payload'
      : payload.values.length !== length
        ? 'wrong length'
        : null,
  accumulate(target, payload) {
    if (payload.codec === 'fp32') addInto(target, payload.values);
    return Promise.resolve();
  },
};

function fp16Codec(kernels: GossipKernels): GossipCodec {
  const pack = need(kernels.fp16Pack, 'fp16', 'fp16Pack');
  const unpack = need(kernels.fp16Unpack, 'fp16', 'fp16Unpack');
  return {
    name: 'fp16',
    frameCodec: 'fp16',
    differential: true,
    param: () => 0,
    async encode(x) {
      return { codec: 'fp16', length: x.length, packed: await pack(x) };
    },
    check: (payload, length) =>
      payload.codec !== 'fp16' ? 'not an fp16 payload' : payload.length !== length ? 'wrong length' : null,
    async accumulate(target, payload) {
      if (payload.codec === 'fp16') await unpack(payload.packed, payload.length, target);
    },
  };
}

function int8Codec(kernels: GossipKernels, blockSize: number): GossipCodec {
  const quantize = need(kernels.int8Quantize, 'int8', 'int8Quantize');
  const dequantize = need(kernels.int8Dequantize, 'int8', 'int8Dequantize');
  return {
    name: 'int8',
    frameCodec: 'int8Block',
    differential: true,
    param: () => blockSize,
    async encode(x, param) {
      const { packed, scales } = await quantize(x, null, param);
      return { codec: 'int8Block', length: x.length, blockSize: param, packed, scales };
    },
    check(payload, length, param) {
      if (payload.codec !== 'int8Block') return 'not an int8 payload';
      if (payload.length !== length) return 'wrong length';
      return payload.blockSize === param ? null : `block size ${payload.blockSize}, agreed ${param}`;
    },
    async accumulate(target, payload) {
      if (payload.codec !== 'int8Block') return;
      await dequantize(payload.packed, payload.scales, payload.length, payload.blockSize, target);
    },
  };
}

function topKCodec(kernels: GossipKernels, fraction: number): GossipCodec {
  const sparsify = need(kernels.topKSparsify, 'topk', 'topKSparsify');
  const scatterAdd = need(kernels.topKScatterAdd, 'topk', 'topKScatterAdd');
  return {
    name: 'topk',
    frameCodec: 'topK',
    differential: true,
    param: (length) => Math.min(length, Math.max(1, Math.ceil(length * fraction))),
    async encode(x, k) {
      const pairs = await sparsify(x, null, k);
      const count = Math.min(pairs.count, k);
      return {
        codec: 'topK',
        length: x.length,
        indices: pairs.indices.subarray(0, count),
        values: pairs.values.subarray(0, count),
      };
    },
    check(payload, length, k) {
      if (payload.codec !== 'topK') return 'not a top-k payload';
      if (payload.length !== length) return 'wrong length';
      return payload.indices.length <= k ? null : `${payload.indices.length} entries, agreed at most ${k}`;
    },
    async accumulate(target, payload) {
      if (payload.codec === 'topK') await scatterAdd(target, payload.indices, payload.values, 1);
    },
  };
}

/** The codec for a job spec's codec name. Throws if the kernels lack what it needs. */
export function createCodec(
  name: GossipCodecName,
  kernels: GossipKernels,
  options: CodecOptions = {},
): GossipCodec {
  switch (name) {
    case 'fp32':
      return fp32Codec;
    case 'fp16':
      return fp16Codec(kernels);
    case 'int8':
      return int8Codec(kernels, options.int8BlockSize ?? DEFAULT_INT8_BLOCK_SIZE);
    case 'topk':
      return topKCodec(kernels, options.topkFraction ?? 0.01);
  }
}
