/**
 * Host side of shaders/reduce.wgsl and shaders/clip-by-norm.wgsl on GPUBuffers: L2 norm, dot
 * product, non-finite count and relative distance into a 4-byte GPU result, and clipping by norm
 * with the norm kept on the GPU. Async helpers read one result back for callers that want it.
 */
import { KERNEL_SHADERS } from '../any/kernel-shaders.ts';
import { checkMaxNorm } from '../any/reduce-reference.ts';
import { checkBuffer, checkLength, checkResultTarget, type ResultTarget } from './argument-checks.ts';
import { planOnDevice, resolveWorkgroupSize, type KernelOptions } from './device-plan.ts';
import { CPU_BARRIER_WORKGROUPS, isCpuEmulated } from './heuristics.ts';
import { acquireTemp, dummyBuffer, readWords, releaseTemp } from './device-resources.ts';
import { runElementwise, vectorUsage } from './elementwise.ts';
import { getKernelPipeline } from './pipeline-cache.ts';
import { record } from './recorder.ts';

/** The shader's OP override. */
const OP = { norm: 0, dot: 1, nonFinite: 2, distance: 3 } as const;
type Op = (typeof OP)[keyof typeof OP];

const PARTIAL_BYTES = 32;
/** Workgroups per chunk in stage 0: enough to fill a GPU, few enough for one combining workgroup. */
const MAX_GROUPS_PER_CHUNK = 1024;
const RESULT_BYTES = 256;

/** A reduction of one vector into `target`. */
type UnaryReduction = (
  device: GPUDevice,
  x: GPUBuffer,
  length: number,
  target: ResultTarget,
  options?: KernelOptions,
) => void;
/** A reduction of two vectors of `length` floats (they may be the same buffer) into `target`. */
type BinaryReduction = (
  device: GPUDevice,
  a: GPUBuffer,
  b: GPUBuffer,
  length: number,
  target: ResultTarget,
  options?: KernelOptions,
) => void;

const unary =
  (op: Op): UnaryReduction =>
  (device, x, length, target, options = {}) =>
    reduceInto(device, op, x, null, length, target, options);
const binary =
  (op: Op): BinaryReduction =>
  (device, a, b, length, target, options = {}) =>
    reduceInto(device, op, a, b, length, target, options);

/** Writes ‖x‖ (f32) to `target`. */
export const l2NormBuffer = unary(OP.norm);
/** Writes Σ a[i]·b[i] (f32) to `target`. */
export const dotBuffers = binary(OP.dot);
/** Writes the number of NaN and ±Inf elements (u32) to `target`. */
export const countNonFiniteBuffer = unary(OP.nonFinite);
/** Writes ‖a − b‖ / ‖a‖ (f32), the consensus distance of b from a, to `target`. */
export const relativeDistanceBuffers = binary(OP.distance);

export interface ClipByNormOptions extends KernelOptions {
  /** Where to leave ‖x‖ before clipping (f32); by default a pooled word nobody reads. */
  readonly norm?: ResultTarget;
}

/**
 * Scales x in place so that ‖x‖ ≤ maxNorm: x *= maxNorm / ‖x‖ when ‖x‖ > maxNorm and ‖x‖ is
 * finite. The norm goes from the reduction to the scaling pass on the GPU, never to the CPU.
 */
export function clipByNormBuffer(
  device: GPUDevice,
  x: GPUBuffer,
  length: number,
  maxNorm: number,
  options: ClipByNormOptions = {},
): void {
  checkMaxNorm(maxNorm);
  checkLength(length, 'clip-by-norm');
  checkBuffer(x, length * 4, vectorUsage(length, true), 'clip-by-norm x');
  if (options.norm !== undefined && options.norm.buffer === x) {
    throw new RangeError('clip-by-norm cannot keep the norm in x itself');
  }
  const temp =
    options.norm === undefined
      ? acquireTemp(device, RESULT_BYTES, GPUBufferUsage.STORAGE, 'clip.norm')
      : null;
  const target = options.norm ?? { buffer: temp as GPUBuffer };
  try {
    reduceInto(device, OP.norm, x, null, length, target, options);
    const offset = target.offset ?? 0;
    runElementwise(device, {
      shader: KERNEL_SHADERS.clipByNorm,
      bindings: [x, { fixed: { buffer: target.buffer, offset, size: 4 } }],
      length,
      options,
      params: { max_norm: maxNorm },
    });
  } finally {
    if (temp !== null) releaseTemp(device, temp);
  }
}

const readUnary =
  (op: Op) =>
  (device: GPUDevice, x: GPUBuffer, length: number, options: KernelOptions = {}) =>
    reduceAndRead(device, op, x, null, length, options);
const readBinary =
  (op: Op) =>
  (device: GPUDevice, a: GPUBuffer, b: GPUBuffer, length: number, options: KernelOptions = {}) =>
    reduceAndRead(device, op, a, b, length, options);

/** ‖x‖ read back to the CPU. */
export const l2Norm = readUnary(OP.norm);
/** Σ a[i]·b[i] read back to the CPU. */
export const dot = readBinary(OP.dot);
/** The number of NaN and ±Inf elements, read back to the CPU. */
export const countNonFinite = readUnary(OP.nonFinite);
/** ‖a − b‖ / ‖a‖ read back to the CPU. */
export const relativeDistance = readBinary(OP.distance);

async function reduceAndRead(
  device: GPUDevice,
  op: Op,
  a: GPUBuffer,
  b: GPUBuffer | null,
  length: number,
  options: KernelOptions,
): Promise<number> {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
  const result = acquireTemp(device, RESULT_BYTES, usage, 'reduce.result');
  try {
    reduceInto(device, op, a, b, length, { buffer: result }, options);
    const words = await readWords(device, result, 0, 1);
    return op === OP.nonFinite ? (words[0] as number) : (new Float32Array(words.buffer)[0] as number);
  } finally {
    releaseTemp(device, result);
  }
}

function reduceInto(
  device: GPUDevice,
  op: Op,
  a: GPUBuffer,
  b: GPUBuffer | null,
  length: number,
  target: ResultTarget,
  options: KernelOptions,
): void {
  const what = ['l2-norm', 'dot', 'non-finite count', 'distance'][op] as string;
  checkLength(length, what);
  checkBuffer(a, length * 4, GPUBufferUsage.STORAGE, `${what} input`);
  if (b !== null) checkBuffer(b, length * 4, GPUBufferUsage.STORAGE, `${what} second input`);
  const offset = checkResultTarget(device, target, `${what} result`);
  if (target.buffer === a || target.buffer === b) {
    throw new RangeError(`${what} cannot write its result into an input`);
  }
  // Where the GPU is emulated on the CPU, few and small workgroups: each barrier switches between
  // a workgroup's invocations there.
  const workgroupSize = resolveWorkgroupSize(
    device,
    options.workgroupSize,
    isCpuEmulated(device) ? 16 : 256,
    true,
  );
  const chunks = planOnDevice(device, length, options, { workgroupSize });
  const maxGroups = Math.min(
    isCpuEmulated(device) ? CPU_BARRIER_WORKGROUPS : MAX_GROUPS_PER_CHUNK,
    device.limits.maxComputeWorkgroupsPerDimension,
    options.maxWorkgroupsPerDimension ?? Number.POSITIVE_INFINITY,
  );
  const groups = chunks.map((c) => Math.min(Math.ceil(c.length / workgroupSize), maxGroups));
  const partialCount = Math.max(
    1,
    groups.reduce((s, g) => s + g, 0),
  );
  const constants = { OP: op, WORKGROUP_SIZE: workgroupSize };
  const fold = getKernelPipeline(device, KERNEL_SHADERS.reduce, { ...constants, STAGE: 0 });
  const combine = getKernelPipeline(device, KERNEL_SHADERS.reduce, { ...constants, STAGE: 1 });
  const partials = acquireTemp(
    device,
    partialCount * PARTIAL_BYTES,
    GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    'reduce.partials',
  );
  const unused = dummyBuffer(device);
  const unusedWritable = dummyBuffer(device, true);
  try {
    record(device, what, (rec) => {
      let partialBase = 0;
      for (const [c, chunk] of chunks.entries()) {
        const bytes = { offset: chunk.start * 4, size: chunk.length * 4 };
        const bindGroup = rec.bindGroup(fold, [
          { buffer: a, ...bytes },
          b === null ? { buffer: unused } : { buffer: b, ...bytes },
          { buffer: partials },
          { buffer: unusedWritable },
        ]);
        const count = groups[c] as number;
        rec.dispatch(fold, bindGroup, { count: chunk.length, partial_base: partialBase }, count);
        partialBase += count;
      }
      // Length 0: no chunk ran, so the one partial we fold must be the identity.
      if (chunks.length === 0) rec.clear(partials, 0, PARTIAL_BYTES);
      const bindGroup = rec.bindGroup(combine, [
        { buffer: unused },
        { buffer: unused },
        { buffer: partials },
        { buffer: target.buffer, offset, size: 4 },
      ]);
      rec.dispatch(combine, bindGroup, { count: partialCount, partial_base: 0 }, 1);
    });
  } finally {
    releaseTemp(device, partials);
  }
}
