import { describe, expect, it } from 'vitest';
import { aggregationSpecSchema, type AggregationSpecInput } from '@tabswarm/protocol';
import { aggregateRound } from './aggregation.ts';

const spec = (input: AggregationSpecInput) => aggregationSpecSchema.parse(input);
const f32 = (...v: number[]) => Float32Array.from(v);
const up = (values: Float32Array, weight = 1) => ({ values, weight });
const reference = f32(0, 0);

describe('aggregateRound', () => {
  const honest = [up(f32(1, 10)), up(f32(2, 11)), up(f32(3, 12))];
  const attacker = up(f32(-1000, 1000));

  it('mean is the weighted mean: one attacker moves it without bound', () => {
    const r = aggregateRound(spec({ rule: 'mean' }), [up(f32(1, 1), 1), up(f32(4, 4), 2)], {
      reference,
      maxRatio: 10,
    });
    expect(Array.from(r.values ?? [])).toEqual([3, 3]);
    expect(
      aggregateRound(spec({ rule: 'mean' }), [...honest, attacker], { reference, maxRatio: 10 }).values?.[0],
    ).toBeCloseTo(-248.5);
  });

  it('median is coordinate-wise, the middle pair averaged for an even count', () => {
    expect(
      Array.from(aggregateRound(spec({ rule: 'median' }), honest, { reference, maxRatio: 10 }).values ?? []),
    ).toEqual([2, 11]);
    expect(
      Array.from(
        aggregateRound(spec({ rule: 'median' }), [...honest, attacker], { reference, maxRatio: 10 }).values ??
          [],
      ),
    ).toEqual([1.5, 11.5]);
  });

  it('trimmed-mean drops ⌊β·m⌋ at each end per coordinate', () => {
    const five = [...honest, attacker, up(f32(4, 13))];
    // β = 0.2 of 5: one dropped at each end → mean of the middle three per coordinate.
    expect(
      Array.from(
        aggregateRound(spec({ rule: 'trimmed-mean', trimFraction: 0.2 }), five, { reference, maxRatio: 10 })
          .values ?? [],
      ),
    ).toEqual([2, 12]);
    // Trimming nothing is the (unweighted) mean.
    expect(
      aggregateRound(spec({ rule: 'trimmed-mean', trimFraction: 0.1 }), five, { reference, maxRatio: 10 })
        .values?.[0],
    ).toBeCloseTo(-198);
  });

  it('centered-clipping bounds one upload by the radius per pass, and starts from the momentum', () => {
    const r = aggregateRound(
      spec({ rule: 'centered-clipping', iterations: 1, clipRadius: 1, momentum: 0 }),
      [...honest, attacker],
      { reference, maxRatio: 10 },
    );
    // Every upload is clipped to distance 1 from the reference: the result is within 1 of it.
    expect(Math.hypot(...(r.values ?? []))).toBeLessThanOrEqual(1 + 1e-6);
    const same = [up(f32(5, 5)), up(f32(5, 5)), up(f32(5, 5))];
    const moved = aggregateRound(spec({ rule: 'centered-clipping', iterations: 1, momentum: 0.5 }), same, {
      reference,
      maxRatio: 10,
      previousStep: f32(2, 2),
    });
    // The centre starts at 0 + 0.5 · 2 = 1; the default radius is the lower median distance (all
    // equal), so the one pass lands on the uploads.
    expect(Array.from(moved.values ?? [])).toEqual([5, 5]);
    expect(Array.from(moved.step ?? [])).toEqual([5, 5]);
  });

  it('every robust rule stays near the honest uploads; clipped rejects the attacker', () => {
    for (const input of [
      { rule: 'median' },
      { rule: 'trimmed-mean', trimFraction: 0.25 },
      { rule: 'centered-clipping' },
      { rule: 'clipped' },
    ] as const) {
      const r = aggregateRound(spec(input), [...honest, attacker], { reference, maxRatio: 10 });
      const [x, y] = Array.from(r.values ?? []);
      expect(Math.hypot((x as number) - 2, (y as number) - 11), input.rule).toBeLessThan(5);
    }
    expect(
      aggregateRound(spec({ rule: 'clipped' }), [...honest, attacker], {
        reference,
        maxRatio: 10,
      }).outliers.map((o) => o.index),
    ).toEqual([3]);
  });

  it('rejectOutliers sets the far uploads apart first, so a median outvotes the near bad ones', () => {
    // Three honest, two near attackers on one side (label flippers), three far ones on the same side.
    const mixed = [
      up(f32(-1000, -1000)),
      up(f32(1, 1)),
      up(f32(-2, -2)),
      up(f32(2, 2)),
      up(f32(-1000, -1000)),
      up(f32(-3, -3)),
      up(f32(3, 3)),
      up(f32(-1000, -1000)),
    ];
    // Far and near attackers together are five of eight: the plain median is a near attacker's.
    const plain = aggregateRound(spec({ rule: 'median' }), mixed, { reference, maxRatio: 10 });
    expect(Array.from(plain.values ?? [])).toEqual([-2.5, -2.5]);
    expect(plain.outliers).toEqual([]);
    const screened = aggregateRound(spec({ rule: 'median', rejectOutliers: true }), mixed, {
      reference,
      maxRatio: 10,
    });
    expect(Array.from(screened.values ?? [])).toEqual([1, 1]);
    // Indices are the round's own, the kept ones and the outliers alike.
    expect(screened.outliers.map((o) => o.index)).toEqual([0, 4, 7]);
    expect(screened.kept.map((k) => k.index)).toEqual([1, 2, 3, 5, 6]);
    expect(screened.scale).toBeCloseTo(Math.hypot(3, 3));
    for (const rule of ['trimmed-mean', 'centered-clipping', 'mean'] as const) {
      const r = aggregateRound(spec({ rule, rejectOutliers: true }), mixed, { reference, maxRatio: 10 });
      expect(
        r.outliers.map((o) => o.index),
        rule,
      ).toEqual([0, 4, 7]);
      expect(Math.hypot(...(r.values ?? [])), rule).toBeLessThan(5);
    }
  });

  it('the loss screen leaves out near uploads that score far worse, after the far ones, for every rule', () => {
    // The same round; the coordinator's losses: honest about 0.3, the near attackers (label
    // flippers) 2.1 and 2.4, the far ones whatever they are (they are set apart by distance first).
    const mixed = [
      up(f32(-1000, -1000)),
      up(f32(1, 1)),
      up(f32(-2, -2)),
      up(f32(2, 2)),
      up(f32(-1000, -1000)),
      up(f32(-3, -3)),
      up(f32(3, 3)),
      up(f32(-1000, -1000)),
    ];
    const losses = [0.01, 0.3, 2.1, 0.32, 0.01, 2.4, 0.29, 0.01];
    for (const rule of ['clipped', 'median', 'trimmed-mean', 'centered-clipping', 'mean'] as const) {
      const r = aggregateRound(spec({ rule, rejectOutliers: true, lossScreenSamples: 64 }), mixed, {
        reference,
        maxRatio: 10,
        losses,
      });
      expect(
        r.outliers.map((o) => [o.index, o.kind]),
        rule,
      ).toEqual([
        [0, 'distance'],
        [4, 'distance'],
        [7, 'distance'],
        [2, 'loss'],
        [5, 'loss'],
      ]);
      expect(
        r.kept.map((k) => k.index),
        rule,
      ).toEqual([1, 3, 6]);
      // Only the honest uploads (all on the +1 diagonal) are left: the result is on their side.
      expect(r.values?.[0], rule).toBeGreaterThan(0.9);
    }
    // Without the far ones set apart, their low losses would be most of the round: the median
    // loss would be theirs and the honest ones would be the outliers. The loss screen after the
    // distance screen is what keeps the bar an honest upload's.
    const median = aggregateRound(spec({ rule: 'median', rejectOutliers: true }), mixed, {
      reference,
      maxRatio: 10,
    });
    expect(median.values?.[0]).toBe(1);
  });

  it('the loss screen without a distance screen: the mean over the uploads that score near the median', () => {
    const r = aggregateRound(
      spec({ rule: 'mean', lossScreenSamples: 64, lossTolerance: 0.5 }),
      [up(f32(1, 1)), up(f32(2, 2)), up(f32(-5, -5)), up(f32(3, 3))],
      { reference, maxRatio: 10, losses: [1, 1.4, 1.6, Number.NaN] },
    );
    // Lower median of the finite losses 1, 1.4, 1.6 is 1.4; the limit 2.1 keeps 1, 1.4 and 1.6;
    // a non-finite loss is always an outlier.
    expect(r.outliers.map((o) => [o.index, o.kind])).toEqual([[3, 'loss']]);
    expect(Array.from(r.values ?? [])).toEqual([-2 / 3, -2 / 3].map((v) => Math.fround(v)));
    expect(() =>
      aggregateRound(spec({ rule: 'mean' }), [up(f32(1, 1))], { reference, maxRatio: 10, losses: [] }),
    ).toThrow(RangeError);
  });
});
