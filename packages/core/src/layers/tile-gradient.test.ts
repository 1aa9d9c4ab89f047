// The replacement gradient of Tile: the same sum as the definition (every tiled copy of an input
// element adds its gradient to it), at every rank TF.js tiles, and — once registerTabswarmLayers has
// run — the backward pass of a LayerNormalization takes no Slice per tiled copy (TF.js's own
// gradient takes one per copy: 4 × 8 = 32 per tile here).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerTabswarmLayers } from './register.ts';
import { tileGradient } from './tile-gradient.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerTabswarmLayers();
});

/** The definition: output element i comes from input element i mod shape, per axis. */
function referenceGradient(
  dy: Float32Array,
  xShape: readonly number[],
  reps: readonly number[],
): Float32Array {
  const outShape = xShape.map((s, k) => s * (reps[k] ?? 1));
  const out = new Float32Array(xShape.reduce((a, b) => a * b, 1));
  const index = new Array<number>(outShape.length).fill(0);
  for (let flat = 0; flat < dy.length; flat++) {
    let target = 0;
    for (let k = 0; k < xShape.length; k++)
      target = target * (xShape[k] as number) + ((index[k] as number) % (xShape[k] as number));
    out[target] = (out[target] as number) + (dy[flat] as number);
    for (let k = outShape.length - 1; k >= 0; k--) {
      index[k] = (index[k] as number) + 1;
      if ((index[k] as number) < (outShape[k] as number)) break;
      index[k] = 0;
    }
  }
  return out;
}

const CASES: readonly { xShape: number[]; reps: number[] }[] = [
  { xShape: [5], reps: [3] },
  { xShape: [2, 3], reps: [4, 1] },
  { xShape: [2, 3], reps: [1, 5] },
  { xShape: [4, 8, 1], reps: [1, 1, 6] },
  { xShape: [1, 1, 6], reps: [4, 8, 1] },
  { xShape: [2, 1, 3, 2], reps: [2, 3, 1, 2] },
];

describe('the gradient of Tile', () => {
  for (const { xShape, reps } of CASES) {
    it(`sums every copy: x ${JSON.stringify(xShape)}, reps ${JSON.stringify(reps)}`, () => {
      const outShape = xShape.map((s, k) => s * (reps[k] as number));
      const dy = tf.randomNormal(outShape, 0, 1, 'float32', 7);
      const want = referenceGradient(dy.dataSync() as Float32Array, xShape, reps);
      const direct = tileGradient(dy, xShape, reps);
      expect(direct.shape).toEqual(xShape);
      const x = tf.randomNormal(xShape, 0, 1, 'float32', 3);
      // Through TF.js's autodiff: the registered gradient is the one taken.
      const viaGrad = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.tile(v, reps), dy)))(x);
      for (const got of [direct.dataSync(), viaGrad.dataSync()]) {
        expect(got.length).toBe(want.length);
        got.forEach((v, i) => expect(v).toBeCloseTo(want[i] as number, 4));
      }
      tf.dispose([dy, direct, x, viaGrad]);
    });
  }

  it('takes no slice per copy in the backward pass of a LayerNormalization', async () => {
    const layer = tf.layers.layerNormalization({ axis: -1 });
    const x = tf.randomNormal([4, 8, 6], 0, 1, 'float32', 11);
    layer.build(x.shape);
    const weights = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const info = await tf.profile(() => {
      const { grads, value } = tf.variableGrads(
        () => tf.sum<tf.Scalar>(tf.square(layer.apply(x) as tf.Tensor)),
        weights,
      );
      tf.dispose([value, ...Object.values(grads)]);
    });
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain('Tile');
    expect(names.filter((n) => n === 'Slice')).toHaveLength(0);
    tf.dispose(x);
  });
});
