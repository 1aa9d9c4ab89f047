import { describe, expect, it } from 'vitest';
import { mulberry32 as createRng } from '@tabswarm/core';
import { f16BitsToF32, f32ToF16Bits, fp16PackReference, fp16UnpackReference } from './fp16-reference.ts';

/** All finite non-negative halves as [value, bits], ascending: an oracle for nearest-even rounding. */
const finiteHalves = Array.from({ length: 0x7c00 }, (_, h) => [f16BitsToF32(h), h] as const);

/** The nearest half to |x| (ties to the even bit pattern), by search: independent of the bit code. */
function nearestHalf(x: number): number {
  const a = Math.abs(x);
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  if (a >= 65_520) return sign | 0x7c00; // half-way between 65504 and 2^16 rounds to even: Inf
  let lo = 0;
  let hi = finiteHalves.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((finiteHalves[mid]?.[0] as number) <= a) lo = mid;
    else hi = mid;
  }
  const [vl, hl] = finiteHalves[lo] as readonly [number, number];
  const [vh, hh] = finiteHalves[hi] as readonly [number, number];
  const dl = a - vl;
  const dh = vh - a;
  const h = a <= vl ? hl : dl < dh ? hl : dh < dl ? hh : hl % 2 === 0 ? hl : hh;
  return sign | h;
}

describe('fp16 reference', () => {
  it('every half converts to f32 and back to itself (NaNs stay NaN)', () => {
    for (let h = 0; h < 65_536; h++) {
      const x = f16BitsToF32(h);
      if (Number.isNaN(x)) expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(x)))).toBe(true);
      else expect(f32ToF16Bits(x), `0x${h.toString(16)}`).toBe(h);
    }
  });

  it('rounds to the nearest half, ties to even, like an independent search', () => {
    const rng = createRng(1);
    const cases: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      // Log-uniform magnitudes from 2^-30 to 2^17: subnormals, normals and overflow.
      cases.push(Math.fround((rng() < 0.5 ? -1 : 1) * 2 ** (rng() * 47 - 30)));
    }
    // Exact midpoints between neighbouring halves, where ties-to-even decides.
    for (let h = 0; h < 0x7bff; h += 37)
      cases.push(((finiteHalves[h]?.[0] as number) + (finiteHalves[h + 1]?.[0] as number)) / 2);
    cases.push(65_504, 65_519.99, 65_520, 1e-8, 2 ** -25, 2 ** -25 * 1.0001, 2 ** -24, -0, 0);
    for (const x of cases) expect(f32ToF16Bits(x), `${x}`).toBe(nearestHalf(Math.fround(x)));
  });

  it('maps ±Inf to ±Inf, NaN to a quiet NaN, f32 subnormals to signed zero', () => {
    expect(f32ToF16Bits(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    expect(f32ToF16Bits(Number.NEGATIVE_INFINITY)).toBe(0xfc00);
    expect(f32ToF16Bits(Number.NaN) & 0x7e00).toBe(0x7e00);
    expect(f32ToF16Bits(-1e-40)).toBe(0x8000);
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
  });

  it('packs two halves per word, low half first, and handles odd lengths', () => {
    const x = new Float32Array([1, -2, 0.5]);
    const packed = fp16PackReference(x);
    expect(Array.from(packed)).toEqual([0x3c00 | (0xc000 << 16), 0x3800].map((w) => w >>> 0));
    expect(Array.from(new Uint16Array(packed.buffer))).toEqual([0x3c00, 0xc000, 0x3800, 0]);
    expect(Array.from(fp16UnpackReference(packed, 3))).toEqual([1, -2, 0.5]);
    expect(() => fp16UnpackReference(packed, 5)).toThrow(/cannot hold/);
  });
});
