// defineUniforms: the WGSL struct and the host writer agree with WGSL's uniform layout rules.
import { describe, expect, it } from 'vitest';
import { defineUniforms, UNIFORM_SLOT_BYTES } from './uniforms.ts';

describe('defineUniforms', () => {
  it('lays scalars out back to back and scalar arrays as 16-byte-aligned vec4 arrays', () => {
    const layout = defineUniforms({
      base: 'u32',
      count: 'u32',
      k: 'u32',
      w: { array: 'f32', length: 8 },
      s: 'i32',
    });
    expect(layout.wgsl).toBe(
      'struct Params {\n  base: u32,\n  count: u32,\n  k: u32,\n  w: array<vec4<f32>, 2>,\n  s: i32,\n}\n',
    );
    expect(layout.offsets).toEqual({ base: 0, count: 4, k: 8, w: 16, s: 48 });
    // The struct's size rounds up to its largest alignment (16, from the array).
    expect(layout.byteLength).toBe(64);
    expect(defineUniforms({ a: 'f32', b: 'u32', c: 'f32' }).byteLength).toBe(12);
  });

  it('writes every field little-endian at its offset, zero-filling short arrays', () => {
    const layout = defineUniforms({ count: 'u32', alpha: 'f32', w: { array: 'f32', length: 5 }, s: 'i32' });
    const view = new DataView(new ArrayBuffer(2 * UNIFORM_SLOT_BYTES));
    new Uint8Array(view.buffer).fill(0xff);
    layout.write(view, UNIFORM_SLOT_BYTES, { count: 0xfffffffe, alpha: 0.1, w: [1, -2, 3], s: -7 });
    const at = UNIFORM_SLOT_BYTES;
    expect(view.getUint32(at, true)).toBe(0xfffffffe);
    expect(view.getFloat32(at + 4, true)).toBe(Math.fround(0.1));
    const w = Array.from({ length: 8 }, (_, j) => view.getFloat32(at + 16 + 4 * j, true));
    expect(w).toEqual([1, -2, 3, 0, 0, 0, 0, 0]);
    expect(view.getInt32(at + 48, true)).toBe(-7);
    // The slot before is untouched.
    expect(view.getUint32(0, true)).toBe(0xffffffff);
  });

  it('rejects values the WGSL type cannot hold, and structs that do not fit a slot', () => {
    const layout = defineUniforms({ n: 'u32', w: { array: 'f32', length: 2 } });
    const view = new DataView(new ArrayBuffer(UNIFORM_SLOT_BYTES));
    expect(() => layout.write(view, 0, { n: -1, w: [] })).toThrow(/n is u32, got -1/);
    expect(() => layout.write(view, 0, { n: 1.5, w: [] })).toThrow(/u32/);
    expect(() => layout.write(view, 0, { n: 1, w: [1, 2, 3] })).toThrow(/at most 2/);
    expect(() => defineUniforms({ w: { array: 'f32', length: 65 } })).toThrow(/do not fit/);
    expect(() => defineUniforms({})).toThrow(/at least one field/);
    expect(() => defineUniforms({ 'not-wgsl': 'u32' })).toThrow(/identifier/);
  });
});
