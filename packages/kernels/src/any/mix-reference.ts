/**
 * Plain TypeScript reference of shaders/mix.wgsl: the contract the GPU kernel is tested against
 * and the path used where there is no WebGPU.
 */

/** At most this many vectors per mix: the shader has one read_write and seven read bindings. */
export const MIX_MAX_INPUTS = 8;

/** Throws unless 1..8 inputs come with as many finite weights; shared by every mix entry point. */
export function checkMixArguments(inputCount: number, weights: readonly number[]): void {
  if (inputCount < 1 || inputCount > MIX_MAX_INPUTS) {
    throw new RangeError(`mix takes 1 to ${MIX_MAX_INPUTS} input vectors, got ${inputCount}`);
  }
  if (weights.length !== inputCount) {
    throw new RangeError(`mix needs one weight per input: ${inputCount} inputs, ${weights.length} weights`);
  }
  for (const [k, w] of weights.entries()) {
    if (!Number.isFinite(w)) throw new RangeError(`mix weight ${k} is not finite: ${w}`);
  }
}

/**
 * out[i] = Σₖ wₖ·xₖ[i] in float32: weights are rounded to f32 (the shader's uniform holds f32),
 * every product and every partial sum is rounded, summed in input order like the shader.
 * `out` may be any of the inputs (each element reads all its terms before it is written).
 */
export function mixReference(
  inputs: readonly Float32Array[],
  weights: readonly number[],
  out?: Float32Array,
): Float32Array {
  checkMixArguments(inputs.length, weights);
  const first = inputs[0] as Float32Array;
  const n = first.length;
  for (const [k, x] of inputs.entries()) {
    if (x.length !== n) throw new RangeError(`mix input ${k} has ${x.length} elements, input 0 has ${n}`);
  }
  if (out !== undefined && out.length !== n) {
    throw new RangeError(`mix output has ${out.length} elements, the inputs have ${n}`);
  }
  const result = out ?? new Float32Array(n);
  const w = weights.map(Math.fround);
  const w0 = w[0] as number;
  const k = inputs.length;
  const fround = Math.fround;
  for (let i = 0; i < n; i++) {
    let s = fround(w0 * (first[i] as number));
    for (let j = 1; j < k; j++) {
      s = fround(s + fround((w[j] as number) * ((inputs[j] as Float32Array)[i] as number)));
    }
    result[i] = s;
  }
  return result;
}
