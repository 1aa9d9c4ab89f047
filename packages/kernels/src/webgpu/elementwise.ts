/**
 * The common host side of the element-wise kernels (mix, optimizer steps, clip scaling). Their
 * shaders see every vector as array<vec4<f32>> and count in quads of four elements: one 128-bit
 * load per lane is much faster than four scalar ones where the GPU is emulated on a CPU, and no
 * worse on GPUs. Bindings must be whole quads, so when a length is not a multiple of 4 the last
 * 1 to 3 elements of each vector are copied into a padded temporary, the kernel runs once more on
 * that single quad, and the written vectors get their tail copied back.
 */
import type { KernelShader } from '../any/shader-sources.ts';
import type { UniformDeclaration, UniformValues } from '../any/uniforms.ts';
import { planOnDevice, resolveWorkgroupSize, type KernelOptions } from './device-plan.ts';
import { getKernelPipeline } from './pipeline-cache.ts';
import { record, type KernelRecorder } from './recorder.ts';

/** A vector starting at element `offset` (a multiple of 64) of `buffer`, bound per chunk. */
export interface VectorBinding {
  readonly buffer: GPUBuffer;
  readonly offset?: number;
}

/** A vector (GPUBuffer: from element 0), or a fixed binding that is the same for every chunk. */
export type ElementwiseBinding = GPUBuffer | VectorBinding | { readonly fixed: GPUBufferBinding };

/** Uniforms of an element-wise kernel: the runner sets the quad range, the caller the rest. */
export type ElementwiseUniforms = UniformDeclaration & { readonly base: 'u32'; readonly count: 'u32' };
export type ElementwiseParams<D extends ElementwiseUniforms> = Omit<UniformValues<D>, 'base' | 'count'>;

const QUAD_BYTES = 16;
/** Each vector's tail sits at its own aligned offset of one temporary. */
const TAIL_STRIDE = 256;

/** One run of an element-wise kernel over elements [0, length) of every vector binding. */
export interface ElementwiseRun<D extends ElementwiseUniforms> {
  readonly shader: KernelShader<D>;
  /** Override constants besides WORKGROUP_SIZE. */
  readonly constants?: Readonly<Record<string, number>>;
  readonly bindings: readonly ElementwiseBinding[];
  readonly length: number;
  readonly options: KernelOptions;
  /** The uniforms but the quad range, which each dispatch sets. */
  readonly params: ElementwiseParams<D>;
}

/**
 * Records `run` with its params and each dispatch's quad range as the uniforms. Vectors need
 * COPY_SRC, and written ones COPY_DST, when length is not a multiple of 4.
 */
export function recordElementwise<D extends ElementwiseUniforms>(
  rec: KernelRecorder,
  run: ElementwiseRun<D>,
): void {
  const { shader, bindings, length, options, params } = run;
  if (length === 0) return;
  const device = rec.device;
  const workgroupSize = resolveWorkgroupSize(device, options.workgroupSize);
  const kernel = getKernelPipeline(device, shader, { ...run.constants, WORKGROUP_SIZE: workgroupSize });
  const quads = Math.floor(length / 4);
  const tail = length - quads * 4;
  const chunks = planOnDevice(device, quads, options, {
    workgroupSize,
    bytesPerElement: QUAD_BYTES,
    alignElements: Math.ceil(device.limits.minStorageBufferOffsetAlignment / QUAD_BYTES),
  });
  const uniforms = (base: number, count: number) => ({ ...params, base, count }) as UniformValues<D>;
  const vector = (b: ElementwiseBinding): VectorBinding | null =>
    'fixed' in b ? null : b instanceof GPUBuffer ? { buffer: b } : b;

  for (const chunk of chunks) {
    const bindGroup = rec.bindGroup(
      kernel,
      bindings.map((b) => {
        const v = vector(b);
        if (v === null) return (b as { fixed: GPUBufferBinding }).fixed;
        return {
          buffer: v.buffer,
          offset: (v.offset ?? 0) * 4 + chunk.start * QUAD_BYTES,
          size: chunk.length * QUAD_BYTES,
        };
      }),
    );
    for (const d of chunk.dispatches) rec.dispatch(kernel, bindGroup, uniforms(d.base, d.count), d.x, d.y);
  }

  if (tail === 0) return;
  // Read-only and writable bindings need separate temporaries: one buffer may not be both in a
  // dispatch. Writable ones may share one at disjoint ranges.
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const padded = {
    read: rec.temp(bindings.length * TAIL_STRIDE, usage, 'elementwise.tail'),
    read_write: rec.temp(bindings.length * TAIL_STRIDE, usage, 'elementwise.tail'),
  };
  const tailBytes = tail * 4;
  const from = (v: VectorBinding) => ((v.offset ?? 0) + quads * 4) * 4;
  const tailBindings = bindings.map((b, i) => {
    const v = vector(b);
    if (v === null) return (b as { fixed: GPUBufferBinding }).fixed;
    const temp = padded[shader.storage[i] ?? 'read'];
    rec.copy(v.buffer, from(v), temp, i * TAIL_STRIDE, tailBytes);
    return { buffer: temp, offset: i * TAIL_STRIDE, size: QUAD_BYTES };
  });
  const bindGroup = rec.bindGroup(kernel, tailBindings);
  rec.dispatch(kernel, bindGroup, uniforms(0, 1), 1);
  for (const [i, b] of bindings.entries()) {
    const v = vector(b);
    if (v !== null && shader.storage[i] === 'read_write') {
      rec.copy(padded.read_write, i * TAIL_STRIDE, v.buffer, from(v), tailBytes);
    }
  }
}

/** recordElementwise in a recorder of its own, submitted before returning. */
export function runElementwise<D extends ElementwiseUniforms>(
  device: GPUDevice,
  run: ElementwiseRun<D>,
): void {
  if (run.length === 0) return;
  record(device, run.shader.name, (rec) => recordElementwise(rec, run));
}

/** Usage a vector of `length` elements needs: the tail copies want COPY_SRC, and COPY_DST if written. */
export function vectorUsage(length: number, written: boolean): GPUBufferUsageFlags {
  if (length % 4 === 0) return GPUBufferUsage.STORAGE;
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | (written ? GPUBufferUsage.COPY_DST : 0);
}
