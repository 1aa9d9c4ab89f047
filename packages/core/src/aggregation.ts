/**
 * The aggregation rules a job can choose for its checkpoint and FedAvg rounds (the spec's
 * `aggregation`, packages/protocol/src/aggregation-spec.ts), over uploads already checked for
 * length and finite values, around a reference (the previous checkpoint or round average):
 * - `clipped`: robustRound (robust-aggregation.ts), the default;
 * - `mean`: the plain weighted mean, no protection;
 * - `median`: the coordinate-wise median (unweighted: a weight is what a contributor could inflate);
 * - `trimmed-mean`: per coordinate, the ⌊β·m⌋ smallest and largest dropped, the rest averaged;
 * - `centered-clipping`: the rule of Karimireddy, He and Jaggi (2021) with server momentum — the
 *   centre v starts at reference + momentum × the previous round's step, then `iterations` times
 *   v ← v + Σ wₖ/W · clip(xₖ − v, τ), τ = clipRadius or the lower median of ‖xₖ − v₀‖. One
 *   upload moves the result by at most τ·wₖ/W per iteration, however far it is.
 * With `rejectOutliers`, every rule but `clipped` (which always does) first sets apart the uploads
 * `clipped` would call outliers (robust-aggregation.ts's screenOutliers) and runs over the rest.
 * Every rule accumulates in float64 and returns fp32.
 */
import type { AggregationSpec } from '@tabswarm/protocol';
import {
  distanceFrom,
  lowerMedian,
  robustRound,
  screenByLoss,
  screenOutliers,
  DEFAULT_CLIP_MULTIPLE,
  type KeptUpload,
  type OutlierUpload,
  type RobustRound,
  type RoundUpload,
} from './robust-aggregation.ts';

export interface AggregateOptions {
  readonly reference: Float32Array;
  /** `clipped`: the outlier limit (× the round's scale). */
  readonly maxRatio: number;
  /** `centered-clipping`: the previous round's step (result − reference), or null for none. */
  readonly previousStep?: Float32Array | null;
  /**
   * Each upload's loss on the coordinator's screening samples (the spec's lossScreenSamples), in
   * upload order: uploads the loss screen calls outliers are left out before the rule runs.
   */
  readonly losses?: readonly number[];
}

export interface AggregateResult extends RobustRound {
  readonly rule: AggregationSpec['rule'];
  /** result − reference: what `centered-clipping`'s momentum carries into the next round. */
  readonly step: Float32Array | null;
}

const keepAll = (uploads: readonly RoundUpload[], reference: Float32Array) =>
  uploads.map((u, index) => ({ index, distance: distanceFrom(u.values, reference), clip: 1 }));

function weightedMean(uploads: readonly RoundUpload[], length: number): Float64Array {
  const total = uploads.reduce((sum, u) => sum + u.weight, 0);
  const sum = new Float64Array(length);
  for (const { values, weight } of uploads) {
    const w = weight / total;
    for (let i = 0; i < length; i++) sum[i] = (sum[i] as number) + w * (values[i] as number);
  }
  return sum;
}

/** Per coordinate: sort the m values, drop `trim` at each end, average the rest (trim 0 for none). */
function coordinateWise(
  uploads: readonly RoundUpload[],
  length: number,
  pick: 'median' | number,
): Float64Array {
  const m = uploads.length;
  const column = new Float64Array(m);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    for (let k = 0; k < m; k++) column[k] = (uploads[k] as RoundUpload).values[i] as number;
    column.sort();
    if (pick === 'median') {
      const mid = m >> 1;
      out[i] =
        m % 2 === 1 ? (column[mid] as number) : ((column[mid - 1] as number) + (column[mid] as number)) / 2;
    } else {
      let sum = 0;
      for (let k = pick; k < m - pick; k++) sum += column[k] as number;
      out[i] = sum / (m - 2 * pick);
    }
  }
  return out;
}

function centeredClipping(
  uploads: readonly RoundUpload[],
  spec: AggregationSpec,
  reference: Float32Array,
  previousStep: Float32Array | null,
): { values: Float64Array; radius: number } {
  const n = reference.length;
  const centre = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const step = previousStep !== null && previousStep.length === n ? (previousStep[i] as number) : 0;
    centre[i] = (reference[i] as number) + spec.momentum * step;
  }
  const distanceToCentre = (values: Float32Array): number => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const d = (values[i] as number) - (centre[i] as number);
      sum += d * d;
    }
    return Math.sqrt(sum);
  };
  const radius = spec.clipRadius ?? lowerMedian(uploads.map((u) => distanceToCentre(u.values)));
  const total = uploads.reduce((sum, u) => sum + u.weight, 0);
  const move = new Float64Array(n);
  for (let pass = 0; pass < spec.iterations; pass++) {
    move.fill(0);
    for (const { values, weight } of uploads) {
      const d = distanceToCentre(values);
      const factor = (weight / total) * (d > radius && d > 0 ? radius / d : 1);
      for (let i = 0; i < n; i++)
        move[i] = (move[i] as number) + factor * ((values[i] as number) - (centre[i] as number));
    }
    for (let i = 0; i < n; i++) centre[i] = (centre[i] as number) + (move[i] as number);
  }
  return { values: centre, radius };
}

/** The rule the spec chose, over a round's uploads. Null values when there are no uploads. */
export function aggregateRound(
  spec: AggregationSpec,
  uploads: readonly RoundUpload[],
  options: AggregateOptions,
): AggregateResult {
  const { reference } = options;
  const finish = (round: RobustRound): AggregateResult => {
    let step: Float32Array | null = null;
    if (round.values !== null) {
      step = new Float32Array(reference.length);
      for (let i = 0; i < step.length; i++) step[i] = (round.values[i] as number) - (reference[i] as number);
    }
    return { ...round, rule: spec.rule, step };
  };
  if (options.losses !== undefined && uploads.length > 0) return lossScreened(spec, uploads, options);
  if (spec.rule === 'clipped' || uploads.length === 0) {
    return finish(
      robustRound(uploads, { reference, maxRatio: options.maxRatio, clipMultiple: DEFAULT_CLIP_MULTIPLE }),
    );
  }
  if (spec.rejectOutliers) {
    // The clipped rule's outliers set apart first; the rule then runs over the rest.
    if (!(options.maxRatio >= 1))
      throw new RangeError(`maxRatio must be at least 1, got ${options.maxRatio}`);
    const screened = screenOutliers(uploads, reference, options.maxRatio);
    const inner = aggregateRound(
      { ...spec, rejectOutliers: false },
      screened.kept.map((k) => uploads[k.index] as RoundUpload),
      options,
    );
    const original = (i: number): number => (screened.kept[i] as KeptUpload).index;
    return {
      ...inner,
      scale: screened.scale,
      kept: inner.kept.map((k) => ({ ...k, index: original(k.index) })),
      outliers: screened.outliers,
    };
  }
  for (const u of uploads) {
    if (u.values.length !== reference.length)
      throw new RangeError(`upload has ${u.values.length} values, the reference ${reference.length}`);
    if (!Number.isFinite(u.weight) || u.weight <= 0)
      throw new RangeError(`upload weight must be finite and positive, got ${u.weight}`);
  }
  const n = reference.length;
  const kept = keepAll(uploads, reference);
  const scale = lowerMedian(kept.map((k) => k.distance).filter((d) => d > 0));
  const result = (values: Float64Array, clips?: readonly number[]): AggregateResult =>
    finish({
      values: Float32Array.from(values),
      scale: Number.isNaN(scale) ? 0 : scale,
      kept: clips === undefined ? kept : kept.map((k, i) => ({ ...k, clip: clips[i] as number })),
      outliers: [],
    });
  switch (spec.rule) {
    case 'mean':
      return result(weightedMean(uploads, n));
    case 'median':
      return result(coordinateWise(uploads, n, 'median'));
    case 'trimmed-mean': {
      const trim = Math.min(Math.floor(spec.trimFraction * uploads.length), (uploads.length - 1) >> 1);
      return result(coordinateWise(uploads, n, trim));
    }
    case 'centered-clipping': {
      const { values, radius } = centeredClipping(uploads, spec, reference, options.previousStep ?? null);
      // The clip each upload got against the final centre, for the record.
      const clips = uploads.map((u) => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += ((u.values[i] as number) - (values[i] as number)) ** 2;
        const d = Math.sqrt(sum);
        return d > radius && d > 0 ? radius / d : 1;
      });
      return result(values, clips);
    }
  }
}

/**
 * The loss screen in front of the rule: the far uploads set apart first where the rule does that
 * (`clipped`, or `rejectOutliers`) — they would otherwise be most of the losses the median is taken
 * of — then those the loss screen calls outliers, then the rule over the rest. (`clipped` measures
 * its scale again over what is left: the lower median of the kept, honest-dominated moves.)
 */
function lossScreened(
  spec: AggregationSpec,
  uploads: readonly RoundUpload[],
  options: AggregateOptions,
): AggregateResult {
  const { reference, losses } = options;
  if (losses === undefined || losses.length !== uploads.length)
    throw new RangeError(`${losses?.length ?? 0} losses for ${uploads.length} uploads`);
  if (!(options.maxRatio >= 1)) throw new RangeError(`maxRatio must be at least 1, got ${options.maxRatio}`);
  const near =
    spec.rule === 'clipped' || spec.rejectOutliers
      ? screenOutliers(uploads, reference, options.maxRatio)
      : { kept: keepAll(uploads, reference), outliers: [] };
  const byLoss = screenByLoss(
    near.kept.map((k) => losses[k.index] as number),
    spec.lossTolerance,
  );
  const survivors = byLoss.kept.map((i) => near.kept[i] as KeptUpload);
  const { losses: _scored, ...unscored } = options;
  const inner = aggregateRound(
    { ...spec, rejectOutliers: false },
    survivors.map((k) => uploads[k.index] as RoundUpload),
    unscored,
  );
  const lossOutliers: OutlierUpload[] = byLoss.outliers.map((o) => {
    const k = near.kept[o.index] as KeptUpload;
    return { index: k.index, kind: 'loss', distance: k.distance, ratio: o.ratio, message: o.message };
  });
  return {
    ...inner,
    kept: inner.kept.map((k) => ({ ...k, index: (survivors[k.index] as KeptUpload).index })),
    outliers: [...near.outliers, ...lossOutliers],
  };
}
