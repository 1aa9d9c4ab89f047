import { describe, expect, it } from 'vitest';
import { EDGE_VALUES, sprinkle, vectors } from './kernel-test-helpers.ts';
import { int8DequantizeReference, int8QuantizeReference, roundHalfEven } from './int8-reference.ts';

describe('int8 reference', () => {
  it('rounds half to even, like WGSL round()', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 126.5, 0.49999997, 2.6].map((v) => roundHalfEven(v) + 0)).toEqual([
      0, 2, 2, 0, -2, 126, 0, 3,
    ]);
  });

  it('scales each block by its largest finite |y| / 127 and keeps |q| ≤ 127', () => {
    const x = new Float32Array([1, -2, 0.5, 0, 100, -127, 3, 4]);
    const { packed, scales } = int8QuantizeReference(x, null, 4);
    expect(Array.from(scales)).toEqual([Math.fround(2 / 127), 1]);
    expect(Array.from(new Int8Array(packed.buffer))).toEqual([64, -127, 32, 0, 100, -127, 3, 4]);
  });

  it('error feedback: decoded + new residual = x + old residual, to one rounding, for every block size', () => {
    for (const blockSize of [4, 32, 256, 1000]) {
      const [x, r] = vectors(blockSize, 2, 3001) as [Float32Array, Float32Array];
      sprinkle(x, EDGE_VALUES, 31);
      const y = x.map((v, i) => v + (r[i] as number));
      const { packed, scales } = int8QuantizeReference(x, r, blockSize);
      const decoded = int8DequantizeReference(packed, scales, 3001, blockSize);
      for (let i = 0; i < 3001; i++) {
        const sum = (decoded[i] as number) + (r[i] as number);
        const want = y[i] as number;
        if (!Number.isFinite(want)) {
          // Non-finite values are not sent: they stay whole in the residual.
          expect(decoded[i]).toBe(0);
          expect(Object.is(r[i], want) || (Number.isNaN(r[i]) && Number.isNaN(want))).toBe(true);
        } else {
          expect(Math.abs(sum - want), `i = ${i}`).toBeLessThanOrEqual(2 ** -23 * Math.abs(want) + 1e-45);
        }
      }
    }
  });

  it('sends nothing for blocks of zeros or of values too small to scale', () => {
    const x = new Float32Array(8).fill(1e-37, 4);
    const r = new Float32Array(8);
    const { packed, scales } = int8QuantizeReference(x, r, 4);
    expect(Array.from(scales)).toEqual([0, 0]);
    expect(Array.from(packed)).toEqual([0, 0]);
    expect(Array.from(r)).toEqual(Array.from(x));
  });

  it('rejects bad block sizes', () => {
    expect(() => int8QuantizeReference(new Float32Array(8), null, 6)).toThrow(/multiple of 4/);
    expect(() => int8QuantizeReference(new Float32Array(8), null, 4096)).toThrow(/4\.\.2048/);
  });
});
