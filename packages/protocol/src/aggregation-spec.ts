/**
 * How the coordinator averages a round of untrusted uploads (checkpoint rounds and FedAvg rounds):
 * the job spec's `aggregation` option, and how many participants each rule needs to tolerate a bad
 * one. The maths is in packages/core/src/aggregation.ts; the rules in short:
 * - `clipped` (default): outliers beyond maxNormRatio × the round's scale (the lower median of the
 *   uploads' moves from the reference) are refused, the other moves clipped to twice that scale;
 * - `mean`: the plain weighted mean — no protection at all, for comparison and trusted swarms;
 * - `median`: the coordinate-wise median;
 * - `trimmed-mean`: per coordinate, the ⌊trimFraction · m⌋ largest and smallest values dropped, the
 *   rest averaged;
 * - `centered-clipping`: starting from the reference moved on by `momentum` × the previous round's
 *   step, `iterations` times: add the mean of the uploads' differences from the centre, each clipped
 *   to `clipRadius` (default: the lower median of those differences' norms).
 * With `lossScreenSamples`, any rule first leaves out the uploads whose loss on that many of the
 * coordinator's training samples is more than `lossTolerance` above the round's lower median.
 */
import { z } from 'zod';

export const AGGREGATION_RULES = ['clipped', 'mean', 'median', 'trimmed-mean', 'centered-clipping'] as const;
export type AggregationRule = (typeof AGGREGATION_RULES)[number];

const fraction = (what: string, max: number) =>
  z
    .number({ error: `${what} must be a number` })
    .refine(Number.isFinite, { error: `${what} must be finite` })
    .refine((v) => v >= 0, { error: `${what} must be at least 0` })
    .refine((v) => v < max, { error: `${what} must be less than ${max}` });

/** The loss screen's largest sample: every upload of a round is scored on them, in the evaluation thread. */
export const MAX_LOSS_SCREEN_SAMPLES = 4096;

export const aggregationSpecSchema = z.strictObject({
  rule: z
    .enum(AGGREGATION_RULES, { error: `aggregation rule must be one of ${AGGREGATION_RULES.join(', ')}` })
    .default('clipped'),
  /** trimmed-mean: the share of uploads dropped at each end, per coordinate. */
  trimFraction: fraction('trim fraction', 0.5).default(0.2),
  /** centered-clipping: how much of the previous round's step the centre starts from. */
  momentum: fraction('aggregation momentum', 1).default(0.9),
  /** centered-clipping: clipping passes per round. */
  iterations: z
    .number({ error: 'aggregation iterations must be a number' })
    .int({ error: 'aggregation iterations must be a whole number' })
    .min(1, { error: 'aggregation iterations must be at least 1' })
    .max(10, { error: 'aggregation iterations must be at most 10' })
    .default(3),
  /**
   * Every rule but `clipped` (which always does): first leave out the uploads `clipped` calls
   * outliers — a move from the reference beyond maxNormRatio × the round's lower median move —
   * then aggregate the rest. A median outvotes bad uploads only while they are fewer than half;
   * screening out the far ones first leaves it the near ones (e.g. label flippers) to outvote.
   */
  rejectOutliers: z.boolean({ error: 'rejectOutliers must be true or false' }).default(false),
  /**
   * Every rule: score each upload (after the outlier screen, where the rule has one) by its mean
   * loss on this many training samples the coordinator holds, and leave out those more than
   * `lossTolerance` above the round's lower median loss — what catches uploads that are near in
   * norm but trained on the wrong labels. 0 (the default) scores nothing.
   */
  lossScreenSamples: z
    .number({ error: 'loss screen samples must be a number' })
    .int({ error: 'loss screen samples must be a whole number' })
    .min(0, { error: 'loss screen samples must be at least 0' })
    .max(MAX_LOSS_SCREEN_SAMPLES, {
      error: `loss screen samples must be at most ${MAX_LOSS_SCREEN_SAMPLES}`,
    })
    .default(0),
  /**
   * The loss screen's margin: a loss above (1 + lossTolerance) × the round's lower median is left
   * out. The default, 3×, measured: honest uploads of the attack tests up to 1.6× the median in a
   * first round, label flippers' 11–18×.
   */
  lossTolerance: z
    .number({ error: 'loss tolerance must be a number' })
    .refine((v) => Number.isFinite(v) && v > 0 && v <= 10, {
      error: 'loss tolerance must be greater than 0 and at most 10',
    })
    .default(2),
  /** centered-clipping: the clipping radius; absent: the round's lower median distance from the centre. */
  clipRadius: z
    .number({ error: 'clip radius must be a number' })
    .refine((v) => Number.isFinite(v) && v > 0, { error: 'clip radius must be finite and greater than 0' })
    .optional(),
});
export type AggregationSpec = z.output<typeof aggregationSpecSchema>;
export type AggregationSpecInput = z.input<typeof aggregationSpecSchema>;

/** The default: `clipped`, every other field at its default. */
export const defaultAggregation = (): AggregationSpec => aggregationSpecSchema.parse({});

/** Uploads a trimmed mean of m drops at each end. */
export const trimmedPerSide = (spec: AggregationSpec, participants: number): number =>
  Math.floor(spec.trimFraction * participants);

/**
 * Why `participants` uploads are too few for the rule to tolerate one bad upload, or null. The
 * coordinator refuses a job whose checkpoint contributors are too few, and warns about a FedAvg
 * round that closed with too few (it still averages what it has).
 */
export function aggregationShortfall(spec: AggregationSpec, participants: number): string | null {
  switch (spec.rule) {
    case 'mean':
      return null; // tolerates nothing by design: chosen knowingly
    case 'clipped':
      // The default: with one upload the round is that upload, with two a bad one can stall the
      // round but not poison it (core's robustRound); jobs of one or two contributors stay valid.
      return null;
    case 'median':
    case 'centered-clipping':
      return participants >= 3
        ? null
        : `${spec.rule} needs at least 3 participants to outvote one bad upload, not ${participants}`;
    case 'trimmed-mean': {
      if (trimmedPerSide(spec, participants) >= 1) return null;
      const needed = Math.ceil(1 / spec.trimFraction);
      return spec.trimFraction === 0
        ? 'trimmed-mean with trimFraction 0 trims nothing: it is the mean'
        : `trimmed-mean with trimFraction ${spec.trimFraction} trims nothing from ${participants} participants: it needs at least ${needed}`;
    }
  }
}
