/**
 * Host side of the top-k sparsifier (shaders/topk-histogram, -select, -count, -scan, -compact)
 * and of shaders/topk-scatter-add.wgsl on GPUBuffers. The threshold is found by a radix select
 * over the magnitudes' bits (four 8-bit digits: four histogram passes), not by sorting, and every
 * step runs on the GPU: nothing is read back between passes.
 */
import { KERNEL_SHADERS } from '../any/kernel-shaders.ts';
import { lcm, type Dispatch } from '../any/plan.ts';
import { checkTopK, TOPK_SENTINEL } from '../any/topk-reference.ts';
import {
  checkBuffer,
  checkDistinct,
  checkLength,
  checkResultTarget,
  type ResultTarget,
} from './argument-checks.ts';
import { f32Alignment, planOnDevice, resolveWorkgroupSize, type KernelOptions } from './device-plan.ts';
import { isCpuEmulated, unitsPerWorkgroup } from './heuristics.ts';
import { acquireTemp, releaseTemp } from './device-resources.ts';
import { mixBuffers } from './mix-kernel.ts';
import { getKernelPipeline } from './pipeline-cache.ts';
import { record } from './recorder.ts';

const { topkHistogram, topkSelect, topkCount, topkScan, topkCompact, topkScatterAdd } = KERNEL_SHADERS;

/** Elements per invocation in the tiled passes (the shaders' ITEMS override). */
const ITEMS = 4;
const HISTOGRAM_BYTES = 256 * 4;
const STATE_BYTES = 16;
const TILE_COUNT_BYTES = 8;

export interface TopKSparsifyBuffers {
  readonly x: GPUBuffer;
  /**
   * Error feedback: y = x + residual is sparsified, and residual becomes y with the selected
   * entries zeroed. Or null: y = x, through a pooled scratch buffer.
   */
  readonly residual: GPUBuffer | null;
  /** k u32 slots: selected indices in increasing order, then TOPK_SENTINEL. */
  readonly indices: GPUBuffer;
  /** k f32 slots: the selected y values, then 0. */
  readonly values: GPUBuffer;
  /** Where to copy the number of pairs written (u32); the buffer needs COPY_DST. */
  readonly count?: ResultTarget;
}

/**
 * Selects the k largest |y| among finite non-zero y (fewer when there are fewer such values);
 * ties at the threshold are taken in index order, so the result is deterministic and equal to
 * topKSparsifyReference bit for bit.
 */
export function topKSparsifyBuffers(
  device: GPUDevice,
  buffers: TopKSparsifyBuffers,
  length: number,
  k: number,
  options: KernelOptions = {},
): void {
  checkLength(length, 'top-k');
  checkTopK(k, length);
  const { x, residual, indices, values, count } = buffers;
  checkDistinct({ x, residual, indices, values, count: count?.buffer ?? null });
  const { STORAGE, COPY_DST } = GPUBufferUsage;
  checkBuffer(x, length * 4, STORAGE, 'top-k x');
  if (residual !== null) checkBuffer(residual, length * 4, STORAGE, 'top-k residual');
  checkBuffer(indices, k * 4, STORAGE, 'top-k indices');
  checkBuffer(values, k * 4, STORAGE, 'top-k values');
  if (k * 4 > device.limits.maxStorageBufferBindingSize) {
    throw new RangeError(`top-k binds its ${k} pairs whole: more than maxStorageBufferBindingSize`);
  }
  const countOffset = count === undefined ? 0 : checkResultTarget(device, count, 'top-k count');
  if (count !== undefined) checkBuffer(count.buffer, countOffset + 4, COPY_DST, 'top-k count');
  if (k === 0) {
    // Nothing is sent, so all of y stays in the residual: r = r + x, which is what mix does.
    if (residual !== null && length > 0) mixBuffers(device, [residual, x], [1, 1], residual, length, options);
    if (count !== undefined) record(device, 'topk', (rec) => rec.clear(count.buffer, countOffset, 4));
    return;
  }
  if (length === 0) {
    device.queue.writeBuffer(indices, 0, new Uint32Array(k).fill(TOPK_SENTINEL));
    device.queue.writeBuffer(values, 0, new Float32Array(k));
    if (count !== undefined) device.queue.writeBuffer(count.buffer, countOffset, new Uint32Array(1));
    return;
  }

  const cpu = isCpuEmulated(device);
  const workgroupSize = resolveWorkgroupSize(device, options.workgroupSize, cpu ? 64 : 256, true);
  const items = cpu ? 16 : ITEMS;
  const tile = workgroupSize * items;
  const tilesPerGroup = unitsPerWorkgroup(device, Math.ceil(length / tile), options);
  const chunks = planOnDevice(device, length, options, {
    workgroupSize,
    elementsPerWorkgroup: tile * tilesPerGroup,
    alignElements: lcm(f32Alignment(device), tile),
  });
  const tileBases: number[] = [];
  let tiles = 0;
  for (const chunk of chunks) {
    tileBases.push(tiles);
    tiles += Math.ceil(chunk.length / tile);
  }
  /** The range and first tile of dispatch `d` of chunk `c`. */
  const tiled = (c: number, d: Dispatch) => ({
    base: d.base,
    count: d.count,
    tile_base: (tileBases[c] as number) + d.base / tile,
  });
  const constants = { WORKGROUP_SIZE: workgroupSize, ITEMS: items };
  const histogram = getKernelPipeline(device, topkHistogram, constants);
  const select = getKernelPipeline(device, topkSelect, {});
  const counter = getKernelPipeline(device, topkCount, constants);
  const scan = getKernelPipeline(device, topkScan, { WORKGROUP_SIZE: workgroupSize });
  const compact = getKernelPipeline(device, topkCompact, constants);

  const temps: GPUBuffer[] = [];
  const temp = (bytes: number, usage: number, label: string) => {
    const b = acquireTemp(device, bytes, usage, label);
    temps.push(b);
    return b;
  };
  try {
    const hist = temp(HISTOGRAM_BYTES, STORAGE | COPY_DST, 'topk.histogram');
    const state = temp(STATE_BYTES, STORAGE | GPUBufferUsage.COPY_SRC, 'topk.state');
    const tileCounts = temp(tiles * TILE_COUNT_BYTES, STORAGE, 'topk.tiles');
    const r = residual ?? temp(length * 4, STORAGE, 'topk.scratch');
    const mode = residual === null ? 2 : 1;
    const kk = Math.min(k, length);

    record(device, 'topk', (rec) => {
      rec.clear(hist);
      const histogramGroups = chunks.map((chunk) =>
        rec.bindGroup(histogram, [
          { buffer: x, offset: chunk.start * 4, size: chunk.length * 4 },
          { buffer: r, offset: chunk.start * 4, size: chunk.length * 4 },
          { buffer: state },
          { buffer: hist, offset: 0, size: HISTOGRAM_BYTES },
        ]),
      );
      const selectGroup = rec.bindGroup(select, [
        { buffer: hist, offset: 0, size: HISTOGRAM_BYTES },
        { buffer: state, offset: 0, size: STATE_BYTES },
      ]);
      for (let digit = 0; digit < 4; digit++) {
        for (const [c, chunk] of chunks.entries()) {
          const bindGroup = histogramGroups[c] as GPUBindGroup;
          for (const d of chunk.dispatches) {
            const { base, count } = d;
            const params = {
              base,
              count,
              digit,
              mode: digit === 0 ? mode : 0,
              tiles_per_group: tilesPerGroup,
            };
            rec.dispatch(histogram, bindGroup, params, d.x, d.y);
          }
        }
        rec.dispatch(select, selectGroup, { digit, k: kk }, 1);
      }

      for (const [c, chunk] of chunks.entries()) {
        const bindGroup = rec.bindGroup(counter, [
          { buffer: r, offset: chunk.start * 4, size: chunk.length * 4 },
          { buffer: state },
          { buffer: tileCounts },
        ]);
        for (const d of chunk.dispatches) {
          rec.dispatch(counter, bindGroup, { ...tiled(c, d), tiles_per_group: tilesPerGroup }, d.x, d.y);
        }
      }

      const scanGroup = rec.bindGroup(scan, [
        { buffer: tileCounts },
        { buffer: state, offset: 0, size: STATE_BYTES },
        { buffer: indices, offset: 0, size: k * 4 },
        { buffer: values, offset: 0, size: k * 4 },
      ]);
      rec.dispatch(scan, scanGroup, { tiles, k }, 1);

      for (const [c, chunk] of chunks.entries()) {
        const bindGroup = rec.bindGroup(compact, [
          { buffer: r, offset: chunk.start * 4, size: chunk.length * 4 },
          { buffer: state },
          { buffer: tileCounts },
          { buffer: indices, offset: 0, size: k * 4 },
          { buffer: values, offset: 0, size: k * 4 },
        ]);
        for (const d of chunk.dispatches) {
          const params = { ...tiled(c, d), chunk_start: chunk.start, tiles_per_group: tilesPerGroup };
          rec.dispatch(compact, bindGroup, params, d.x, d.y);
        }
      }
      if (count !== undefined) rec.copy(state, 12, count.buffer, countOffset, 4);
    });
  } finally {
    for (const b of temps) releaseTemp(device, b);
  }
}

export interface TopKScatterAddBuffers {
  /** `pairs` u32 indices (TOPK_SENTINEL and out-of-range ones are skipped); must be distinct. */
  readonly indices: GPUBuffer;
  readonly values: GPUBuffer;
  /** The dense vector of `length` floats added into. */
  readonly out: GPUBuffer;
}

export interface TopKScatterOptions extends KernelOptions {
  /** out[index] += alpha · value; default 1. */
  readonly alpha?: number;
}

type ScatterEntry = (
  device: GPUDevice,
  buffers: TopKScatterAddBuffers,
  pairs: number,
  length: number,
  options?: TopKScatterOptions,
) => void;

const scatterEntry =
  (zero: boolean): ScatterEntry =>
  (device, buffers, pairs, length, options = {}) =>
    scatter(device, buffers, pairs, length, options, zero);

/** out[indices[j]] += alpha · values[j] for j < pairs. */
export const topKScatterAddBuffers = scatterEntry(false);

/** The dense decode: out = 0, then the scatter-add (out needs COPY_DST). */
export const topKDecodeBuffers = scatterEntry(true);

function scatter(
  device: GPUDevice,
  buffers: TopKScatterAddBuffers,
  pairs: number,
  length: number,
  options: TopKScatterOptions,
  zero: boolean,
): void {
  checkLength(length, 'top-k scatter-add');
  checkLength(pairs, 'top-k pairs');
  const alpha = options.alpha ?? 1;
  if (!Number.isFinite(alpha)) throw new RangeError(`alpha must be finite, got ${alpha}`);
  const { indices, values, out } = buffers;
  checkDistinct({ indices, values, out });
  const { STORAGE, COPY_DST } = GPUBufferUsage;
  checkBuffer(indices, pairs * 4, STORAGE, 'top-k scatter-add indices');
  checkBuffer(values, pairs * 4, STORAGE, 'top-k scatter-add values');
  checkBuffer(out, length * 4, zero ? STORAGE | COPY_DST : STORAGE, 'top-k scatter-add out');
  if (pairs * 4 > device.limits.maxStorageBufferBindingSize) {
    throw new RangeError(`top-k binds its ${pairs} pairs whole: more than maxStorageBufferBindingSize`);
  }
  if (length === 0) return;

  const workgroupSize = resolveWorkgroupSize(device, options.workgroupSize);
  const outChunks = planOnDevice(device, length, options, { workgroupSize });
  // The pairs are bound whole (checked above), so their plan is one chunk.
  const pairDispatches = planOnDevice(device, pairs, options, { workgroupSize })[0]?.dispatches ?? [];
  const kernel = getKernelPipeline(device, topkScatterAdd, { WORKGROUP_SIZE: workgroupSize });
  record(device, 'topk-scatter-add', (rec) => {
    if (zero) rec.clear(out, 0, length * 4);
    if (pairs === 0) return;
    for (const chunk of outChunks) {
      const bindGroup = rec.bindGroup(kernel, [
        { buffer: indices, offset: 0, size: pairs * 4 },
        { buffer: values, offset: 0, size: pairs * 4 },
        { buffer: out, offset: chunk.start * 4, size: chunk.length * 4 },
      ]);
      for (const { base, count, x, y } of pairDispatches) {
        const params = { base, count, out_start: chunk.start, out_length: chunk.length, alpha };
        rec.dispatch(kernel, bindGroup, params, x, y);
      }
    }
  });
}
