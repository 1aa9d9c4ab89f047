/**
 * Robust averaging of a round of uploads around a reference (the previous checkpoint): the rule
 * the coordinator applies to checkpoint rounds so that no single contributor can move the
 * average far or lock the others out. Other rules (coordinate-wise median, trimmed mean, centered
 * clipping with momentum) belong beside this one.
 *
 * The rule ("outlier rejection and centered clipping at the round's own scale"). With reference
 * r, uploads vₖ (already checked for length and finite values) and weights wₖ:
 *
 *   1. dₖ = vₖ − r, each upload's difference from the reference, and its norm ‖dₖ‖.
 *   2. The round's scale s is the lower median of the positive ‖dₖ‖ (sorted ascending, the entry
 *      at index ⌊(m − 1)/2⌋ of m): the middle one of 3, the second of 4, the smaller of 2. An
 *      upload equal to the reference (‖dₖ‖ = 0) carries no scale and is never an outlier.
 *   3. An upload with ‖dₖ‖ > maxRatio · s is an outlier and is left out.
 *   4. Every other difference is clipped to τ = clipMultiple · s around the reference:
 *      dₖ ← dₖ · min(1, τ / ‖dₖ‖).
 *   5. The result is r + Σ wₖ/W · dₖ over the kept uploads, accumulated in float64.
 *
 * Why it holds: the scale comes from the round's own uploads, never from a norm an attacker set
 * in an earlier round, so nothing carries over from one round to the next and nobody is locked
 * out. A lower median of m ≥ 3 uploads is bounded by honest ones as long as one contributor
 * cannot be more than ⌊(m − 1)/2⌋ of them: inflating one's own difference does not raise s, and
 * shrinking it to near zero cannot take s below the smaller honest ones. A kept upload moves the
 * result by at most τ·wₖ/W; one that goes further is rejected outright.
 *
 * What it costs an honest round: nothing while every difference is within clipMultiple × the
 * lower median (the result is then the plain weighted mean, up to fp32 rounding); honest uploads
 * that moved more than that are pulled in to τ, and those beyond maxRatio × s are left out.
 * Limits: with one upload the round is that upload; with two, s is the smaller difference, so
 * the other is clipped to clipMultiple × it (or rejected beyond maxRatio × it): a contributor
 * can stall a two-upload round but not poison it.
 */

/** τ = clipMultiple × s. Twice the lower median: honest rounds are rarely clipped, and one
 * contributor moves a round of m equal weights by at most 2s/m. */
export const DEFAULT_CLIP_MULTIPLE = 2;

export interface RoundUpload {
  readonly values: Float32Array;
  /** Relative weight; finite and positive. */
  readonly weight: number;
}

export interface RobustRoundOptions {
  /** What the differences are measured from: the previous checkpoint. */
  readonly reference: Float32Array;
  /** An upload whose difference is more than maxRatio × the round's scale is an outlier (≥ 1). */
  readonly maxRatio: number;
  /** Differences are clipped to clipMultiple × the scale (> 0); DEFAULT_CLIP_MULTIPLE by default. */
  readonly clipMultiple?: number;
}

export interface KeptUpload {
  readonly index: number;
  /** ‖vₖ − r‖ as uploaded. */
  readonly distance: number;
  /** The factor its difference was scaled by: 1 when not clipped. */
  readonly clip: number;
}

export interface OutlierUpload {
  readonly index: number;
  /** Why it was left out: its move from the reference (`distance`) or its loss (`loss`). */
  readonly kind: 'distance' | 'loss';
  readonly distance: number;
  /** distance / scale, or loss / the round's lower median loss. */
  readonly ratio: number;
  readonly message: string;
}

export interface RobustRound {
  /** The robust average; the reference itself when nothing moved. Null when no upload was given. */
  readonly values: Float32Array | null;
  /** The lower median of the positive differences' norms (0 when every upload equals the reference). */
  readonly scale: number;
  readonly kept: readonly KeptUpload[];
  readonly outliers: readonly OutlierUpload[];
}

/** The lower median: the entry at ⌊(n − 1)/2⌋ of the sorted values; NaN for none. */
export function lowerMedian(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
}

/** ‖v − r‖, accumulated in float64. */
export function distanceFrom(values: Float32Array, reference: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const d = (values[i] as number) - (reference[i] as number);
    sum += d * d;
  }
  return Math.sqrt(sum);
}

/**
 * Steps 1–3 of the rule above: each upload's move from the reference, the round's scale, and the
 * uploads beyond maxRatio × the scale set apart as outliers (the others kept, unclipped). The
 * other robust rules use it too when the job asks them to reject outliers first.
 */
export function screenOutliers(
  uploads: readonly RoundUpload[],
  reference: Float32Array,
  maxRatio: number,
): { readonly scale: number; readonly kept: KeptUpload[]; readonly outliers: OutlierUpload[] } {
  const distances = uploads.map((u) => distanceFrom(u.values, reference));
  const positive = distances.filter((d) => d > 0);
  const scale = positive.length === 0 ? 0 : lowerMedian(positive);
  const limit = maxRatio * scale;
  const kept: KeptUpload[] = [];
  const outliers: OutlierUpload[] = [];
  distances.forEach((distance, index) => {
    if (distance > limit) {
      const ratio = distance / scale;
      outliers.push({
        index,
        kind: 'distance',
        distance,
        ratio,
        message: `moved ${distance.toPrecision(4)} from the previous checkpoint, ${ratio.toPrecision(3)}× the round's typical move (lower median ${scale.toPrecision(4)}); the limit is ${maxRatio}×`,
      });
    } else {
      kept.push({ index, distance, clip: 1 });
    }
  });
  return { scale, kept, outliers };
}

/**
 * The rule above. Throws a RangeError on programmer error (lengths differ, a bad weight, a bad
 * ratio or clip multiple); uploads must already be finite.
 */
export function robustRound(uploads: readonly RoundUpload[], options: RobustRoundOptions): RobustRound {
  const { reference, maxRatio } = options;
  const clipMultiple = options.clipMultiple ?? DEFAULT_CLIP_MULTIPLE;
  if (!(maxRatio >= 1)) throw new RangeError(`maxRatio must be at least 1, got ${maxRatio}`);
  if (!(clipMultiple > 0) || !Number.isFinite(clipMultiple))
    throw new RangeError(`clipMultiple must be finite and positive, got ${clipMultiple}`);
  for (const u of uploads) {
    if (u.values.length !== reference.length)
      throw new RangeError(`upload has ${u.values.length} values, the reference ${reference.length}`);
    if (!Number.isFinite(u.weight) || u.weight <= 0)
      throw new RangeError(`upload weight must be finite and positive, got ${u.weight}`);
  }
  if (uploads.length === 0) return { values: null, scale: 0, kept: [], outliers: [] };

  const screened = screenOutliers(uploads, reference, maxRatio);
  const { scale } = screened;
  const tau = clipMultiple * scale;
  const kept: KeptUpload[] = screened.kept.map((k) => ({
    ...k,
    clip: k.distance > tau ? tau / k.distance : 1,
  }));
  const { outliers } = screened;

  const totalWeight = kept.reduce((sum, k) => sum + (uploads[k.index] as RoundUpload).weight, 0);
  const sum = new Float64Array(reference.length);
  for (const k of kept) {
    const { values, weight } = uploads[k.index] as RoundUpload;
    const w = (weight / totalWeight) * k.clip;
    for (let i = 0; i < sum.length; i++)
      sum[i] = (sum[i] as number) + w * ((values[i] as number) - (reference[i] as number));
  }
  for (let i = 0; i < sum.length; i++) sum[i] = (reference[i] as number) + (sum[i] as number);
  return { values: Float32Array.from(sum), scale, kept, outliers };
}

export interface LossScreen {
  /** The lower median of the finite losses (NaN when none is finite). */
  readonly median: number;
  /** Indices into `losses` kept, in order. */
  readonly kept: number[];
  readonly outliers: {
    readonly index: number;
    readonly loss: number;
    readonly ratio: number;
    readonly message: string;
  }[];
}

/**
 * The loss screen: each upload's mean loss on samples the coordinator holds, against the round's
 * lower median loss m; an upload whose loss is more than (1 + tolerance) · m is left out, as is a
 * non-finite one. Uploads that are near the reference in norm but trained on the wrong labels
 * (label flipping) score far worse on correctly labelled samples than honest ones, which score
 * close to each other. The lower median is an honest upload's while the honest are more than half
 * of the round (after the distance screen has left out the far ones), so an attacker cannot set
 * the bar; the upload at the median is always kept.
 */
export function screenByLoss(losses: readonly number[], tolerance: number): LossScreen {
  if (!(tolerance > 0) || !Number.isFinite(tolerance))
    throw new RangeError(`loss tolerance must be finite and positive, got ${tolerance}`);
  const median = lowerMedian(losses.filter(Number.isFinite));
  // A loss of exactly 0 (every sample right, with certainty) must not make every other one an outlier.
  const limit = (1 + tolerance) * median + 1e-6;
  const kept: number[] = [];
  const outliers: LossScreen['outliers'][number][] = [];
  losses.forEach((loss, index) => {
    if (Number.isFinite(loss) && loss <= limit) {
      kept.push(index);
      return;
    }
    const ratio = loss / median;
    outliers.push({
      index,
      loss,
      ratio,
      message: `scored a loss of ${loss.toPrecision(4)} on the coordinator's screening samples, ${ratio.toPrecision(3)}× the round's typical loss (lower median ${median.toPrecision(4)}); the limit is ${(1 + tolerance).toPrecision(3)}×`,
    });
  });
  return { median, kept, outliers };
}
