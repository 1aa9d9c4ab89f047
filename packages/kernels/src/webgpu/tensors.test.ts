// Without WebGPU (Node: tfjs on its CPU backend) every tensor-level call runs the reference, so
// the trainer and the gossip code keep one code path.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  adamReference,
  adamTensors,
  clipByNormReference,
  clipByNormTensor,
  countNonFiniteReference,
  countNonFiniteTensor,
  dotReference,
  dotTensor,
  fp16PackReference,
  fp16PackTensor,
  fp16UnpackReference,
  fp16UnpackTensor,
  int8DequantizeReference,
  int8DequantizeTensor,
  int8QuantizeReference,
  int8QuantizeTensors,
  l2NormReference,
  l2NormTensor,
  relativeDistanceReference,
  relativeDistanceTensor,
  sgdMomentumReference,
  sgdMomentumTensors,
  topKDecodeTensor,
  topKScatterAddTensor,
  topKSparsifyReference,
  topKSparsifyTensors,
} from '../index.ts';
import { vectors } from '../any/kernel-test-helpers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe('tensor API on a non-WebGPU backend', () => {
  const [a, b] = vectors(1, 2, 1001) as [Float32Array, Float32Array];
  b[7] = Number.NaN;

  it('optimizer steps return the reference results and leave their inputs alone', () => {
    const before = tf.memory().numTensors;
    const [param, grad, acc] = [tf.tensor1d(a), tf.tensor1d(b), tf.zeros<tf.Rank.R1>([1001])];
    const sgd = sgdMomentumTensors({ param, grad, accumulation: acc }, { learningRate: 0.1, momentum: 0.9 });
    const [p, r] = [a.slice(), new Float32Array(1001)];
    sgdMomentumReference(p, b, r, { learningRate: 0.1, momentum: 0.9 });
    expect(values(sgd.param)).toEqual(Array.from(p));
    expect(values(sgd.accumulation)).toEqual(Array.from(r));
    const adam = adamTensors({ param, grad, m: acc, v: acc }, { weightDecay: 0.1 }, 2);
    const [p2, m, v] = [a.slice(), new Float32Array(1001), new Float32Array(1001)];
    adamReference(p2, b, m, v, { weightDecay: 0.1 }, 2);
    expect(values(adam.param)).toEqual(Array.from(p2));
    expect(values(param)).toEqual(Array.from(a));
    tf.dispose([param, grad, acc, sgd.param, sgd.accumulation, adam.param, adam.m, adam.v]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reductions and clipping return the reference results', () => {
    const [ta, tb] = [tf.tensor1d(a), tf.tensor1d(b)];
    expect(values(l2NormTensor(ta))).toEqual([l2NormReference(a)]);
    expect(values(dotTensor(ta, ta))).toEqual([dotReference(a, a)]);
    const count = countNonFiniteTensor(tb);
    expect(count.dtype).toBe('int32');
    expect(values(count)).toEqual([countNonFiniteReference(b)]);
    expect(values(relativeDistanceTensor(ta, tb))).toEqual([relativeDistanceReference(a, b)]);
    const { clipped, norm } = clipByNormTensor(ta, 2);
    const expected = a.slice();
    expect(values(norm)).toEqual([clipByNormReference(expected, 2)]);
    expect(values(clipped)).toEqual(Array.from(expected));
  });

  it('codecs return the reference encodings as int32 words, and decode them', () => {
    const ta = tf.tensor1d(a);
    const packed = fp16PackTensor(ta);
    expect(packed.dtype).toBe('int32');
    expect(new Uint32Array(packed.dataSync().buffer)).toEqual(fp16PackReference(a));
    expect(values(fp16UnpackTensor(packed, 1001))).toEqual(
      Array.from(fp16UnpackReference(fp16PackReference(a), 1001)),
    );

    const residual = b.map((v) => (Number.isNaN(v) ? 0 : v * 0.01));
    const int8 = int8QuantizeTensors(ta, tf.tensor1d(residual), { blockSize: 64 });
    const refResidual = residual.slice();
    const ref = int8QuantizeReference(a, refResidual, 64);
    expect(new Uint32Array(int8.packed.dataSync().buffer)).toEqual(ref.packed);
    expect(values(int8.residual as tf.Tensor)).toEqual(Array.from(refResidual));
    expect(values(int8DequantizeTensor(int8.packed, int8.scales, 1001, { blockSize: 64 }))).toEqual(
      Array.from(int8DequantizeReference(ref.packed, ref.scales, 1001, 64)),
    );

    const sparse = topKSparsifyTensors(ta, null, 10);
    const pairs = topKSparsifyReference(a, null, 10);
    expect(values(sparse.indices)).toEqual(Array.from(pairs.indices));
    expect(values(sparse.count)).toEqual([10]);
    const dense = topKDecodeTensor(sparse.indices, sparse.values, 1001);
    expect(values(dense).filter((v) => v !== 0)).toHaveLength(10);
    expect(values(topKScatterAddTensor(dense, sparse.indices, sparse.values, -1)).every((v) => v === 0)).toBe(
      true,
    );
  });

  it('rejects tensors of the wrong shape or type', () => {
    const [x, short, ints] = [tf.tensor1d([1, 2, 3]), tf.tensor1d([1, 2]), tf.tensor1d([1, 2, 3], 'int32')];
    expect(() => dotTensor(x, short)).toThrow(/b has 2 elements, expected 3/);
    expect(() => l2NormTensor(ints)).toThrow(/dtype int32/);
    expect(() => fp16UnpackTensor(ints, 100)).toThrow(/expected 50/);
    expect(() => l2NormTensor(tf.tensor2d([[1]]) as unknown as tf.Tensor1D)).toThrow(/rank 2/);
    tf.dispose([x, short, ints]);
  });
});
