import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, framePayload, ALL_FRAME_CODECS } from '@tabswarm/protocol';
import { createCodec } from './codecs.ts';
import { referenceKernels, tensorKernels } from './kernel-library.ts';
import { basicKernels } from './kernels.ts';
import { randomVector } from './test-helpers.ts';

describe('codecs', () => {
  it('round-trip through a frame: what the receiver accumulates is what the sender computed', async () => {
    const x = randomVector(10_001, 4);
    for (const name of ['fp32', 'fp16', 'int8', 'topk'] as const) {
      const codec = createCodec(name, referenceKernels, { topkFraction: 0.1 });
      const param = codec.param(x.length);
      const payload = await codec.encode(x, param);
      const mine = new Float32Array(x.length);
      await codec.accumulate(mine, payload);
      const frame = encodeFrame({ jobId: 'j', senderId: 's', round: 1, payload });
      const decoded = decodeFrame(frame, { codecs: ALL_FRAME_CODECS });
      if (!decoded.ok) throw new Error(decoded.message);
      const received = framePayload(decoded);
      expect(codec.check(received, x.length, param)).toBeNull();
      const theirs = new Float32Array(x.length);
      await codec.accumulate(theirs, received);
      expect(theirs).toEqual(mine);
      const error = Math.max(...x.map((v, i) => Math.abs(v - (mine[i] as number))));
      if (name === 'fp32') expect(error).toBe(0);
      if (name === 'fp16') expect(error).toBeLessThan(1e-3);
      if (name === 'int8') expect(error).toBeLessThan(1 / 127);
      if (name === 'topk') expect(received.codec === 'topK' && received.indices.length).toBe(param);
    }
  });

  it('refuses payloads that do not match the agreed shape', async () => {
    const int8 = createCodec('int8', referenceKernels);
    const payload = await int8.encode(randomVector(1000), 256);
    expect(int8.check(payload, 1000, 128)).toMatch(/block size/);
    expect(int8.check(payload, 999, 256)).toMatch(/length/);
    const topk = createCodec('topk', referenceKernels, { topkFraction: 0.01 });
    expect(topk.check(await topk.encode(randomVector(1000), 50), 1000, 10)).toMatch(/entries/);
  });

  it('asks for the kernel library when a codec needs it', () => {
    expect(() => createCodec('int8', basicKernels)).toThrow(/kernel-library/);
    expect(createCodec('fp32', basicKernels).name).toBe('fp32');
  });

  it('the tensor kernels (tfjs, WGSL on WebGPU) agree with the references', async () => {
    await tf.setBackend('cpu');
    const x = randomVector(4_099, 8);
    const y = randomVector(4_099, 9);
    expect(await tensorKernels.l2Norm(x)).toBeCloseTo(referenceKernels.l2Norm(x) as number, 3);
    expect(await tensorKernels.relativeDistance(x, y)).toBeCloseTo(
      referenceKernels.relativeDistance(x, y) as number,
      5,
    );
    const bad = x.slice();
    bad[3] = Number.NaN;
    expect(await tensorKernels.countNonFinite(bad)).toBe(1);
    for (const name of ['fp16', 'int8', 'topk'] as const) {
      const viaTensors = createCodec(name, tensorKernels, { topkFraction: 0.05 });
      const viaReference = createCodec(name, referenceKernels, { topkFraction: 0.05 });
      const param = viaReference.param(x.length);
      const [a, b] = [await viaTensors.encode(x, param), await viaReference.encode(x, param)];
      expect(a).toEqual(b);
      const [ta, tb] = [new Float32Array(x.length), new Float32Array(x.length)];
      await viaTensors.accumulate(ta, a);
      await viaReference.accumulate(tb, b);
      expect(ta).toEqual(tb);
    }
    expect(tf.memory().numTensors).toBe(0);
  });
});
