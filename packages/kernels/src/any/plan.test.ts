import { describe, expect, it } from 'vitest';
import { gcd, lcm, planChunks, type ChunkLimits } from './plan.ts';

const device = {
  maxBindingBytes: 128 * 1024 * 1024,
  offsetAlignmentBytes: 256,
  maxWorkgroupsPerDimension: 65_535,
  workgroupSize: 256,
};

/** Every element covered once, chunks aligned and within the binding cap, dispatches on whole workgroups. */
function expectValid(length: number, limits: ChunkLimits): void {
  const perGroup = limits.elementsPerWorkgroup ?? limits.workgroupSize;
  const align = limits.alignElements ?? limits.offsetAlignmentBytes / 4;
  const bytes = limits.bytesPerElement ?? 4;
  const problems: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  let next = 0;
  for (const chunk of planChunks(length, limits)) {
    check(chunk.start === next, `chunk at ${chunk.start}, expected ${next}`);
    check(chunk.start % align === 0, `chunk at ${chunk.start} is not a multiple of ${align}`);
    check(
      chunk.length * bytes <= Math.max(limits.maxBindingBytes, bytes) || chunk.length === length,
      `chunk of ${chunk.length}`,
    );
    let base = 0;
    for (const d of chunk.dispatches) {
      check(d.base === base && d.base % perGroup === 0, `dispatch at ${d.base}`);
      check(
        d.x >= 1 &&
          d.x <= limits.maxWorkgroupsPerDimension &&
          d.y >= 1 &&
          d.y <= limits.maxWorkgroupsPerDimension,
        `grid ${d.x}×${d.y}`,
      );
      check(d.x * d.y * perGroup >= d.count, `grid too small for ${d.count}`);
      base += d.count;
    }
    check(base === chunk.length, `dispatches cover ${base} of ${chunk.length}`);
    next += chunk.length;
  }
  check(next === length, `chunks cover ${next} of ${length}`);
  expect(problems, `length ${length}, limits ${JSON.stringify(limits)}`).toEqual([]);
}

describe('planChunks', () => {
  it('with the defaults is the mix plan: one f32 per element, one element per invocation', () => {
    expect(planChunks(1_000_003, device)).toEqual([
      { start: 0, length: 1_000_003, dispatches: [{ base: 0, count: 1_000_003, x: 3907, y: 1 }] },
    ]);
  });

  it('counts grids in blocks or tiles, and keeps dispatch bases on them', () => {
    // int8 with blocks of 100: 10,000 blocks per workgroup row at most 4 → several dispatches.
    const limits = { ...device, elementsPerWorkgroup: 100, maxWorkgroupsPerDimension: 4 };
    const [chunk] = planChunks(2_050, limits);
    expect(chunk?.dispatches).toEqual([
      { base: 0, count: 1600, x: 4, y: 4 },
      { base: 1600, count: 450, x: 3, y: 2 },
    ]);
    expectValid(2_050, limits);
  });

  it('aligns chunks for narrow buffers (fp16, int8, per-block scales)', () => {
    // fp16: halves bound at start·2 bytes → starts on multiples of 128 elements.
    const fp16 = { ...device, maxBindingBytes: 1000, alignElements: 128, elementsPerWorkgroup: 512 };
    expect(planChunks(1000, fp16).map((c) => c.start)).toEqual([0, 128, 256, 384, 512, 640, 768, 896]);
    expectValid(1000, fp16);
    // int8, blocks of 36: lcm(64, 256, 64·36) = 2304.
    const int8 = {
      ...device,
      maxBindingBytes: 40_000,
      alignElements: lcm(64, 256, 64 * 36),
      elementsPerWorkgroup: 36,
    };
    expect(planChunks(20_011, int8).map((c) => c.start)).toEqual([0, 9216, 18_432]);
    expectValid(20_011, int8);
  });

  it('stays valid over many shapes of limits and lengths', () => {
    for (const length of [1, 255, 256, 257, 4097, 65_537, 100_003]) {
      for (const maxBindingBytes of [4096, 100_000, 1 << 30]) {
        for (const maxWorkgroupsPerDimension of [1, 3, 65_535]) {
          for (const [elementsPerWorkgroup, alignElements, bytesPerElement] of [
            [256, 64, 4],
            [512, 128, 4],
            [1024, 1024, 4],
            [100, lcm(64, 256, 6400), 4],
            [1024, 256, 1],
          ] as const) {
            // A binding that cannot hold one aligned chunk is refused (tested below).
            if (
              alignElements * bytesPerElement > maxBindingBytes &&
              length * bytesPerElement > maxBindingBytes
            )
              continue;
            expectValid(length, {
              maxBindingBytes,
              offsetAlignmentBytes: 256,
              maxWorkgroupsPerDimension,
              workgroupSize: 64,
              elementsPerWorkgroup,
              alignElements,
              bytesPerElement,
            });
          }
        }
      }
    }
  });

  it('refuses what it cannot honour', () => {
    expect(() => planChunks(100_000, { ...device, maxBindingBytes: 1000, alignElements: 512 })).toThrow(
      /below the 256-byte offset alignment \(512 elements/,
    );
    expect(() => planChunks(-1, device)).toThrow(/non-negative integer/);
    expect(() => planChunks(10, { ...device, elementsPerWorkgroup: 0 })).toThrow(/invalid kernel limits/);
    expect(() => planChunks(10, { ...device, alignElements: 1.5 })).toThrow(/invalid kernel limits/);
  });

  it('gcd and lcm', () => {
    expect(gcd(12, 18)).toBe(6);
    expect(lcm(64, 256, 64 * 36)).toBe(2304);
    expect(lcm()).toBe(1);
  });
});
