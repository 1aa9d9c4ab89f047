/**
 * Host side of shaders/mix.wgsl on GPUBuffers: validates, picks how x0 reaches the accumulator
 * (in place, copied into out, or through a pooled temporary), and records the passes with the
 * shared element-wise runner (chunks, dispatches, uniform slots, the last partial quad).
 */
import { KERNEL_SHADERS } from '../any/kernel-shaders.ts';
import { checkMixArguments, MIX_MAX_INPUTS } from '../any/mix-reference.ts';
import { checkBuffer, checkLength } from './argument-checks.ts';
import type { KernelOptions } from './device-plan.ts';
import { dummyBuffer } from './device-resources.ts';
import { recordElementwise, vectorUsage, type ElementwiseBinding } from './elementwise.ts';
import { record, type KernelRecorder } from './recorder.ts';

export type MixBufferOptions = Omit<KernelOptions, 'unitsPerWorkgroup'>;

/** When the output aliases a later input we mix through a temporary; pieces cap its size. */
const TEMP_MAX_BYTES = 16 * 1024 * 1024;

/**
 * out[i] = Σₖ weights[k]·inputs[k][i] for i < length, on `device` (tfjs's or any other).
 * `out` may be inputs[0] (in place, no copy) or any other input (mixed through a pooled
 * temporary). Buffers need STORAGE; inputs[0] also COPY_SRC and `out` also COPY_DST unless
 * out === inputs[0]; and when length is not a multiple of 4, inputs COPY_SRC and out COPY_DST.
 * Work is submitted to device.queue before this returns; GPU-side errors surface through the
 * device's error scopes as usual.
 */
export function mixBuffers(
  device: GPUDevice,
  inputs: readonly GPUBuffer[],
  weights: readonly number[],
  out: GPUBuffer,
  length: number,
  options: MixBufferOptions = {},
): void {
  checkMixArguments(inputs.length, weights);
  const x0 = inputs[0] as GPUBuffer;
  const mode =
    out === x0 && !inputs.slice(1).includes(out) ? 'in-place' : inputs.includes(out) ? 'temp' : 'copy';
  checkBuffers(inputs, out, length, mode);
  if (length === 0) return;

  const unused = dummyBuffer(device);
  const shader = KERNEL_SHADERS.mix;
  const constants = { K: inputs.length };
  const params = { k: inputs.length, w: weights };
  /** Bindings 2..8 for elements from `offset` on: the later inputs, then dummies. */
  const later = (offset: number): ElementwiseBinding[] =>
    Array.from({ length: MIX_MAX_INPUTS - 1 }, (_, j) => {
      const x = inputs[j + 1];
      return x === undefined ? { fixed: { buffer: unused } } : { buffer: x, offset };
    });
  const run = (rec: KernelRecorder, acc: GPUBuffer, offset: number, count: number) =>
    recordElementwise(rec, {
      shader,
      constants,
      bindings: [acc, ...later(offset)],
      length: count,
      options,
      params,
    });

  record(device, 'mix', (rec) => {
    if (mode === 'in-place') {
      run(rec, x0, 0, length);
    } else if (mode === 'copy') {
      rec.copy(x0, 0, out, 0, length * 4);
      run(rec, out, 0, length);
    } else {
      // out is also a later input, which must keep its values until the last term is added.
      const piece = Math.floor(TEMP_MAX_BYTES / 4 / 64) * 64;
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
      const temp = rec.temp(Math.min(length, piece) * 4, usage, 'mix.temp');
      for (let start = 0; start < length; start += piece) {
        const count = Math.min(piece, length - start);
        rec.copy(x0, start * 4, temp, 0, count * 4);
        run(rec, temp, start, count);
        rec.copy(temp, 0, out, start * 4, count * 4);
      }
    }
  });
}

function checkBuffers(
  inputs: readonly GPUBuffer[],
  out: GPUBuffer,
  length: number,
  mode: 'in-place' | 'temp' | 'copy',
): void {
  checkLength(length, 'mix');
  const bytes = length * 4;
  const { COPY_SRC, COPY_DST } = GPUBufferUsage;
  for (const [k, x] of inputs.entries()) {
    const copied = k === 0 && mode !== 'in-place' ? COPY_SRC : 0;
    checkBuffer(x, bytes, vectorUsage(length, k === 0 && mode === 'in-place') | copied, `mix input ${k}`);
  }
  if (mode === 'copy') checkBuffer(out, bytes, vectorUsage(length, true) | COPY_DST, 'mix output');
  else if (mode === 'temp') checkBuffer(out, bytes, COPY_DST, 'mix output');
}
