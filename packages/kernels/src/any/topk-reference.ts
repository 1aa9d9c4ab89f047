/**
 * TypeScript reference of the top-k sparsifier (shaders/topk-*.wgsl) and its scatter-add. It
 * selects by sorting, which the GPU avoids; the selection is the same: the k largest |y| among
 * finite non-zero y = x + residual, ties at the threshold taken in index order, pairs written in
 * index order, unused slots holding the sentinel. The result is exact, so GPU and reference
 * agree bit for bit.
 */

/** Index of an unused pair slot; the scatter-add skips it (as an int32 tensor it reads -1). */
export const TOPK_SENTINEL = 0xffffffff;

export interface SparsePairs {
  /** k slots; slots at and after `count` hold TOPK_SENTINEL. */
  readonly indices: Uint32Array;
  /** k slots; slots at and after `count` hold 0. */
  readonly values: Float32Array;
  readonly count: number;
}

/** Orders finite values by |y|; NaN and ±Inf map to 0, like zeros, and are never selected. */
export function topKKey(bits: number): number {
  return (bits & 0x7f800000) === 0x7f800000 ? 0 : (bits & 0x7fffffff) >>> 0;
}

export function checkTopK(k: number, length: number): void {
  if (!Number.isSafeInteger(k) || k < 0) throw new RangeError(`k must be a non-negative integer, got ${k}`);
  if (length >= 2 ** 32 - 1) throw new RangeError(`top-k indices are u32: length ${length} is too long`);
}

/**
 * Selects the top k of y = x + residual (or x when residual is null); with a residual, sets the
 * selected entries of `residual` to 0 and the others to y, so that scatter(pairs) + residual' = y.
 */
export function topKSparsifyReference(
  x: Float32Array,
  residual: Float32Array | null,
  k: number,
): SparsePairs {
  const n = x.length;
  checkTopK(k, n);
  if (residual !== null && residual.length !== n) {
    throw new RangeError(`residual has ${residual.length} elements, x has ${n}`);
  }
  const y = residual ?? new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = residual === null ? (x[i] as number) : Math.fround((x[i] as number) + (residual[i] as number));
  }
  const bits = new Uint32Array(y.buffer, y.byteOffset, n);
  const keys = new Uint32Array(n);
  for (let i = 0; i < n; i++) keys[i] = topKKey(bits[i] as number);

  const indices = new Uint32Array(k).fill(TOPK_SENTINEL);
  const values = new Float32Array(k);
  const kk = Math.min(k, n);
  if (kk === 0) return { indices, values, count: 0 };
  const sorted = keys.slice().sort();
  const threshold = sorted[n - kk] as number;
  let greater = 0;
  for (let i = 0; i < n; i++) if ((keys[i] as number) > threshold) greater++;
  const ties = threshold > 0 ? kk - greater : 0;
  let count = 0;
  let tiesTaken = 0;
  for (let i = 0; i < n; i++) {
    const key = keys[i] as number;
    const take = key > threshold || (key === threshold && threshold > 0 && tiesTaken++ < ties);
    if (take) {
      indices[count] = i;
      values[count] = y[i] as number;
      count++;
      y[i] = 0;
    }
  }
  return { indices, values, count };
}

/** out[indices[j]] += alpha·values[j] for every in-range index; sentinels are skipped. */
export function topKScatterAddReference(
  out: Float32Array,
  indices: Uint32Array,
  values: Float32Array,
  alpha = 1,
): Float32Array {
  if (indices.length !== values.length) {
    throw new RangeError(`${indices.length} indices and ${values.length} values`);
  }
  const a = Math.fround(alpha);
  for (let j = 0; j < indices.length; j++) {
    const index = indices[j] as number;
    if (index < out.length)
      out[index] = Math.fround((out[index] as number) + Math.fround(a * (values[j] as number)));
  }
  return out;
}
