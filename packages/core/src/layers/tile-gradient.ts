/**
 * TF.js's gradient of Tile, replaced by one that sums the tiled copies with a reduction per tiled
 * axis. TF.js's own takes one Slice of the incoming gradient per copy (16 × 64 = 1,024 slices for a
 * [16, 64, 1] tile to [16, 64, 48]), and its WebAssembly Slice reads the whole input each time, so
 * the cost grows with the square of batch × context. tfjs-layers' LayerNormalization tiles its mean,
 * variance, gamma and beta on every call: measured in Node on the WebAssembly backend, one gpt-nano
 * step of 16 windows ran 10,240 slices of a [16, 64, 48] gradient (about 2 GB copied). On WebGL and
 * WebGPU each slice is a kernel dispatch. The result is the same sum, in a few reductions.
 */
import * as tf from '@tensorflow/tfjs';

/** The gradient of `tile(x, reps)` with respect to x, given the gradient `dy` of its output. */
export function tileGradient(dy: tf.Tensor, xShape: readonly number[], reps: readonly number[]): tf.Tensor {
  return tf.tidy(() => {
    let g = dy;
    const shape = [...dy.shape];
    for (let axis = 0; axis < xShape.length; axis++) {
      const copies = reps[axis] ?? 1;
      if (copies === 1) continue;
      const size = xShape[axis] as number;
      const before = shape.slice(0, axis).reduce((a, b) => a * b, 1);
      const after = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      // Along a tiled axis, output index = copy × size + input index: copies are the major part.
      g = tf.sum(tf.reshape(g, [before, copies, size, after]), 1);
      shape[axis] = size;
    }
    return tf.reshape(g, [...xShape]);
  });
}

/** Installs tileGradient as TF.js's gradient of Tile (registering it again replaces it with itself). */
export function registerTileGradient(): void {
  tf.registerGradient({
    kernelName: tf.Tile,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const { reps } = attrs as unknown as { reps: number[] };
      if (x === undefined) throw new Error('Tile gradient: the input was not saved');
      return { x: () => tileGradient(dy as tf.Tensor, x.shape, reps) };
    },
  });
}
