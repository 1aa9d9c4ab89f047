/**
 * TypeScript reference of shaders/fp16-pack.wgsl and shaders/fp16-unpack.wgsl: IEEE binary16
 * conversion, round to nearest even, by the same integer steps as the shader, so both produce the
 * same bits. Also the codec's path without WebGPU.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** binary16 bits of the f32 nearest `value` (ties to even; ±Inf beyond 65504; NaN quiet). */
export function f32ToF16Bits(value: number): number {
  f32[0] = value;
  const bits = u32[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return mantissa !== 0 ? sign | 0x7e00 | (mantissa >>> 13) : sign | 0x7c00;
  const e = exponent - 127;
  if (e > 15) return sign | 0x7c00;
  if (e >= -14) {
    let h = ((e + 15) << 10) | (mantissa >>> 13);
    const rest = mantissa & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h += 1;
    return sign | h;
  }
  if (e < -25) return sign;
  const significand = mantissa | 0x800000;
  const shift = -1 - e;
  let h = significand >>> shift;
  const rest = significand & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) === 1)) h += 1;
  return sign | h;
}

/** The f32 value of binary16 bits `h` (always exact). */
export function f16BitsToF32(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0x1f) u32[0] = (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
  else if (exponent === 0) {
    f32[0] = mantissa * 2 ** -24;
    u32[0] = (sign | (u32[0] as number)) >>> 0;
  } else u32[0] = (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
  return f32[0] as number;
}

/** Words needed for `length` halves. */
export function fp16Words(length: number): number {
  return Math.ceil(length / 2);
}

/** Packs two halves per u32 word, element 2w in the low half (a little-endian Uint16Array). */
export function fp16PackReference(x: Float32Array): Uint32Array {
  const packed = new Uint32Array(fp16Words(x.length));
  for (let i = 0; i < x.length; i++) {
    const h = f32ToF16Bits(x[i] as number);
    packed[i >>> 1] = ((packed[i >>> 1] as number) | (i & 1 ? h << 16 : h)) >>> 0;
  }
  return packed;
}

export function fp16UnpackReference(packed: Uint32Array, length: number): Float32Array {
  if (packed.length < fp16Words(length)) {
    throw new RangeError(`${packed.length} words cannot hold ${length} halves`);
  }
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const word = packed[i >>> 1] as number;
    out[i] = f16BitsToF32(i & 1 ? word >>> 16 : word & 0xffff);
  }
  return out;
}
