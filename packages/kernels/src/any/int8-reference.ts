/**
 * TypeScript reference of shaders/int8-quantize.wgsl and shaders/int8-dequantize.wgsl: block-wise
 * symmetric int8 quantisation with error feedback, and its decoding. Also the path without WebGPU.
 */

export const INT8_DEFAULT_BLOCK_SIZE = 256;
/** The shader caches a block in workgroup memory: 2048 floats are 8 KiB of the 16 KiB minimum. */
export const INT8_MAX_BLOCK_SIZE = 2048;
/** Blocks whose largest |y| is below this quantise to zero (keeps the scale a normal f32). */
export const INT8_MIN_MAX = Math.fround(1.5e-36);
/** Scales and decoded values: a few ulp (the GPU's division may be off by 2.5 ulp). */
export const INT8_RELATIVE_TOLERANCE = 1e-6;

const fround = Math.fround;

export function checkBlockSize(blockSize: number): void {
  if (
    !Number.isInteger(blockSize) ||
    blockSize < 4 ||
    blockSize > INT8_MAX_BLOCK_SIZE ||
    blockSize % 4 !== 0
  ) {
    throw new RangeError(`block size must be a multiple of 4 in 4..${INT8_MAX_BLOCK_SIZE}, got ${blockSize}`);
  }
}

export function int8Words(length: number): number {
  return Math.ceil(length / 4);
}

export function int8Blocks(length: number, blockSize: number): number {
  return Math.ceil(length / blockSize);
}

/** Rounds half to even, as WGSL's round(). */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

export interface Int8Quantized {
  /** Four int8 per word, element 4w + j in byte j: read them with new Int8Array(packed.buffer). */
  readonly packed: Uint32Array;
  readonly scales: Float32Array;
}

/**
 * Quantises y = x + residual (or x when residual is null) block by block; updates `residual` in
 * place to y − decoded, so that decoded + residual' = y up to one rounding.
 */
export function int8QuantizeReference(
  x: Float32Array,
  residual: Float32Array | null,
  blockSize = INT8_DEFAULT_BLOCK_SIZE,
): Int8Quantized {
  checkBlockSize(blockSize);
  const n = x.length;
  if (residual !== null && residual.length !== n) {
    throw new RangeError(`residual has ${residual.length} elements, x has ${n}`);
  }
  const packed = new Uint32Array(int8Words(n));
  const bytes = new Int8Array(packed.buffer);
  const scales = new Float32Array(int8Blocks(n, blockSize));
  const y = new Float32Array(blockSize);
  for (let start = 0, block = 0; start < n; start += blockSize, block++) {
    const end = Math.min(start + blockSize, n);
    let max = 0;
    for (let i = start; i < end; i++) {
      const v = residual === null ? (x[i] as number) : fround((x[i] as number) + (residual[i] as number));
      y[i - start] = v;
      if (Number.isFinite(v)) max = Math.max(max, Math.abs(v));
    }
    const scale = max < INT8_MIN_MAX ? 0 : fround(max / 127);
    scales[block] = scale;
    for (let i = start; i < end; i++) {
      const v = y[i - start] as number;
      const q =
        scale > 0 && Number.isFinite(v) ? Math.min(127, Math.max(-127, roundHalfEven(fround(v / scale)))) : 0;
      bytes[i] = q;
      if (residual !== null) residual[i] = fround(v - fround(q * scale));
    }
  }
  return { packed, scales };
}

export function int8DequantizeReference(
  packed: Uint32Array,
  scales: Float32Array,
  length: number,
  blockSize = INT8_DEFAULT_BLOCK_SIZE,
): Float32Array {
  checkBlockSize(blockSize);
  if (packed.length < int8Words(length) || scales.length < int8Blocks(length, blockSize)) {
    throw new RangeError(`${packed.length} words and ${scales.length} scales cannot hold ${length} values`);
  }
  const bytes = new Int8Array(packed.buffer, packed.byteOffset, packed.length * 4);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = fround((bytes[i] as number) * (scales[Math.floor(i / blockSize)] as number));
  }
  return out;
}
