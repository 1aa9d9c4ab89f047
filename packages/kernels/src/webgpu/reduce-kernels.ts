/**
 * Host side of shaders/reduce.wgsl and shaders/clip-by-norm.wgsl on GPUBuffers: L2 norm, dot
 * product, non-finite count and relative distance into a 4-byte GPU result, and clipping by norm
 * with the norm kept on the GPU. Async helpers read one result back for callers that want it.
 */
import clipByNormWgsl from '../../../../shaders/clip-by-norm.wgsl?raw';
import reduceWgsl from '../../../../shaders/reduce.wgsl?raw';
import { runElementwise, vectorUsage } from './elementwise.ts';
import {
  acquireTemp,
  checkBuffer,
  checkLength,
  checkResultTarget,
  CPU_BARRIER_WORKGROUPS,
  dummyBuffer,
  isCpuEmulated,
  planOnDevice,
  readWords,
  record,
  releaseTemp,
  resolveWorkgroupSize,
  storageKernelSpec,
  type KernelOptions,
  type KernelRecorder,
  type ResultTarget,
} from './kernel-runtime.ts';
import { getKernelPipeline } from './pipeline-cache.ts';
import { checkMaxNorm } from '../any/reduce-reference.ts';

const REDUCE_SPEC = storageKernelSpec('reduce', reduceWgsl, ['read', 'read', 'read_write', 'read_write']);
const CLIP_SPEC = storageKernelSpec('clip-by-norm', clipByNormWgsl, ['read_write', 'read']);

/** The shader's OP override. */
const OP = { norm: 0, dot: 1, nonFinite: 2, distance: 3 } as const;
type Op = (typeof OP)[keyof typeof OP];

const PARTIAL_BYTES = 32;
/** Workgroups per chunk in stage 0: enough to fill a GPU, few enough for one combining workgroup. */
const MAX_GROUPS_PER_CHUNK = 1024;
const RESULT_BYTES = 256;

/** Writes ‖x‖ (f32) to `target`. */
export function l2NormBuffer(
  device: GPUDevice,
  x: GPUBuffer,
  length: number,
  target: ResultTarget,
  options: KernelOptions = {},
): void {
  reduceInto(device, OP.norm, x, null, length, target, options);
}

/** Writes Σ a[i]·b[i] (f32) to `target`; a and b may be the same buffer. */
export function dotBuffers(
  device: GPUDevice,
  a: GPUBuffer,
  b: GPUBuffer,
  length: number,
  target: ResultTarget,
  options: KernelOptions = {},
): void {
  reduceInto(device, OP.dot, a, b, length, target, options);
}

/** Writes the number of NaN and ±Inf elements (u32) to `target`. */
export function countNonFiniteBuffer(
  device: GPUDevice,
  x: GPUBuffer,
  length: number,
  target: ResultTarget,
  options: KernelOptions = {},
): void {
  reduceInto(device, OP.nonFinite, x, null, length, target, options);
}

/** Writes ‖a − b‖ / ‖a‖ (f32), the consensus distance of b from a, to `target`. */
export function relativeDistanceBuffers(
  device: GPUDevice,
  a: GPUBuffer,
  b: GPUBuffer,
  length: number,
  target: ResultTarget,
  options: KernelOptions = {},
): void {
  reduceInto(device, OP.distance, a, b, length, target, options);
}

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
    runElementwise(
      device,
      CLIP_SPEC,
      [x, { fixed: { buffer: target.buffer, offset, size: 4 } }],
      length,
      options,
      (_u32, f32, at) => {
        f32[at + 4] = Math.fround(maxNorm);
      },
    );
  } finally {
    if (temp !== null) releaseTemp(device, temp);
  }
}

/** ‖x‖ read back to the CPU. */
export function l2Norm(device: GPUDevice, x: GPUBuffer, length: number, options: KernelOptions = {}) {
  return reduceAndRead(device, OP.norm, x, null, length, options);
}

/** Σ a[i]·b[i] read back to the CPU. */
export function dot(
  device: GPUDevice,
  a: GPUBuffer,
  b: GPUBuffer,
  length: number,
  options: KernelOptions = {},
) {
  return reduceAndRead(device, OP.dot, a, b, length, options);
}

/** The number of NaN and ±Inf elements, read back to the CPU. */
export function countNonFinite(device: GPUDevice, x: GPUBuffer, length: number, options: KernelOptions = {}) {
  return reduceAndRead(device, OP.nonFinite, x, null, length, options);
}

/** ‖a − b‖ / ‖a‖ read back to the CPU. */
export function relativeDistance(
  device: GPUDevice,
  a: GPUBuffer,
  b: GPUBuffer,
  length: number,
  options: KernelOptions = {},
) {
  return reduceAndRead(device, OP.distance, a, b, length, options);
}

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
  const fold = getKernelPipeline(device, REDUCE_SPEC, { ...constants, STAGE: 0 });
  const combine = getKernelPipeline(device, REDUCE_SPEC, { ...constants, STAGE: 1 });
  const partials = acquireTemp(
    device,
    partialCount * PARTIAL_BYTES,
    GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    'reduce.partials',
  );
  const unused = dummyBuffer(device);
  const unusedWritable = dummyBuffer(device, true);
  try {
    record(device, what, (rec: KernelRecorder) => {
      let partialBase = 0;
      for (const [c, chunk] of chunks.entries()) {
        const bytes = { offset: chunk.start * 4, size: chunk.length * 4 };
        const bindGroup = rec.bindGroup(fold, [
          { buffer: a, ...bytes },
          b === null ? { buffer: unused } : { buffer: b, ...bytes },
          { buffer: partials },
          { buffer: unusedWritable },
        ]);
        const at = rec.params();
        rec.u32[at] = chunk.length;
        rec.u32[at + 1] = partialBase;
        rec.dispatch(fold, bindGroup, groups[c] as number);
        partialBase += groups[c] as number;
      }
      // Length 0: no chunk ran, so the one partial we fold must be the identity.
      if (chunks.length === 0) rec.clear(partials, 0, PARTIAL_BYTES);
      const bindGroup = rec.bindGroup(combine, [
        { buffer: unused },
        { buffer: unused },
        { buffer: partials },
        { buffer: target.buffer, offset, size: 4 },
      ]);
      const at = rec.params();
      rec.u32[at] = partialCount;
      rec.dispatch(combine, bindGroup, 1);
    });
  } finally {
    releaseTemp(device, partials);
  }
}
