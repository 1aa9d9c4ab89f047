import { describe, expect, it } from 'vitest';
import { planMix, type MixLimits } from './mix-plan.ts';

const device: MixLimits = {
  maxBindingBytes: 128 * 1024 * 1024,
  offsetAlignmentBytes: 256,
  maxWorkgroupsPerDimension: 65_535,
  workgroupSize: 256,
};

/** Every element covered exactly once, within every limit (plain checks: expect() per item is slow). */
function expectValid(length: number, limits: MixLimits): void {
  const problems: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  let next = 0;
  for (const chunk of planMix(length, limits)) {
    check(chunk.start === next, `chunk at ${chunk.start}, expected ${next}`);
    check((chunk.start * 4) % limits.offsetAlignmentBytes === 0, `chunk at ${chunk.start} is unaligned`);
    check(chunk.length * 4 <= Math.max(limits.maxBindingBytes, 4), `chunk of ${chunk.length} is too big`);
    let base = 0;
    for (const d of chunk.dispatches) {
      check(d.base === base, `dispatch at ${d.base}, expected ${base}`);
      check(d.x >= 1 && d.x <= limits.maxWorkgroupsPerDimension, `x = ${d.x}`);
      check(d.y >= 1 && d.y <= limits.maxWorkgroupsPerDimension, `y = ${d.y}`);
      check(d.x * d.y * limits.workgroupSize >= d.count, `grid too small for ${d.count}`);
      base += d.count;
    }
    check(base === chunk.length, `dispatches cover ${base} of ${chunk.length}`);
    next += chunk.length;
  }
  check(next === length, `chunks cover ${next} of ${length}`);
  expect(problems, `length ${length}, limits ${JSON.stringify(limits)}`).toEqual([]);
}

describe('planMix', () => {
  it('uses one chunk and a 1-D grid when everything fits', () => {
    expect(planMix(1_000_003, device)).toEqual([
      { start: 0, length: 1_000_003, dispatches: [{ base: 0, count: 1_000_003, x: 3907, y: 1 }] },
    ]);
    expect(planMix(1, device)).toEqual([
      { start: 0, length: 1, dispatches: [{ base: 0, count: 1, x: 1, y: 1 }] },
    ]);
    expect(planMix(0, device)).toEqual([]);
  });

  it('spreads more than 65,535 workgroups over a 2-D grid', () => {
    const length = 65_536 * 256 + 1; // one element past what a 1-D grid can hold
    const [chunk] = planMix(length, device);
    expect(chunk?.dispatches).toEqual([{ base: 0, count: length, x: 32_769, y: 2 }]);
    expectValid(length, device);
  });

  it('chunks at aligned offsets when a binding cannot hold the vector', () => {
    const limits = { ...device, maxBindingBytes: 1000 }; // 250 floats, rounded down to 192 (3 × 64)
    const chunks = planMix(1000, limits);
    expect(chunks.map((c) => [c.start, c.length])).toEqual([
      [0, 192],
      [192, 192],
      [384, 192],
      [576, 192],
      [768, 192],
      [960, 40],
    ]);
    expectValid(1000, limits);
  });

  it('splits a chunk into several dispatches when even a 2-D grid is too small', () => {
    const limits = { ...device, maxWorkgroupsPerDimension: 4, workgroupSize: 64 }; // 1024 per dispatch
    const [chunk] = planMix(2500, limits);
    expect(chunk?.dispatches).toEqual([
      { base: 0, count: 1024, x: 4, y: 4 },
      { base: 1024, count: 1024, x: 4, y: 4 },
      { base: 2048, count: 452, x: 4, y: 2 },
    ]);
  });

  it('stays valid over many shapes of limits and lengths', () => {
    for (const length of [1, 63, 64, 65, 255, 256, 257, 4097, 100_003]) {
      for (const maxBindingBytes of [256, 1000, 4096, 1 << 30]) {
        for (const maxWorkgroupsPerDimension of [1, 3, 64, 65_535]) {
          for (const workgroupSize of [1, 64, 256]) {
            expectValid(length, {
              maxBindingBytes,
              offsetAlignmentBytes: 256,
              maxWorkgroupsPerDimension,
              workgroupSize,
            });
          }
        }
      }
    }
  });

  it('refuses limits it cannot honour', () => {
    expect(() => planMix(1000, { ...device, maxBindingBytes: 100 })).toThrow(
      /below the 256-byte offset alignment/,
    );
    expect(() => planMix(-1, device)).toThrow(/non-negative integer/);
    expect(() => planMix(1.5, device)).toThrow(/non-negative integer/);
    expect(() => planMix(10, { ...device, maxWorkgroupsPerDimension: 0 })).toThrow(/invalid mix limits/);
  });
});
