/**
 * The arithmetic of a pairwise gossip exchange, pure over Float32Arrays: the exact pair average
 * (fp32), the compressed codecs' consensus step (CHOCO-gossip), the difference a differential codec
 * sends, and the bookkeeping of changes made while a trainer held the parameters. Both sides of a
 * pair run these same functions, which is what keeps the swarm's mean where it was.
 */
import type { GossipCodecName } from '@tabswarm/protocol';
import { outerSyncArrays, type OuterSettings } from './outer-optimizer.ts';

/**
 * What a committed exchange does to this side, in place: the pair step, then (with the outer
 * optimizer) the outer step from the synchronised model to the pair's average. One operation of
 * the averaging kernels (kernels.ts): on WebGPU every vector crosses to the GPU once and back once.
 */
export interface AveragingStep {
  /** This side's parameters. */
  readonly x: Float32Array;
  /**
   * x ← x + step·(theirs − mine): `mine` null means x itself (fp32: the partner's model; step ½ is
   * the exact pair average), else the pair's references ĥ_theirs and ĥ_mine (compressed codecs).
   * Null: x already holds the average (a FedAvg round's), only the outer step is taken.
   */
  readonly pair: {
    readonly theirs: Float32Array;
    readonly mine: Float32Array | null;
    readonly step: number;
  } | null;
  /** The outer optimizer's synchronised model and momentum, stepped in place; null: none. */
  readonly outer: OuterStepState | null;
  /** Every change of x is added here too (a trainer holds a snapshot of the parameters); null: none. */
  readonly pending: Float32Array | null;
}

export interface OuterStepState extends Pick<OuterSettings, 'learningRate' | 'momentum'> {
  readonly synced: Float32Array;
  readonly velocity: Float32Array;
}

/**
 * γ of the compressed update when the caller sets none: 0.5 (a pair's exact average once the
 * references caught up) for fp16 and int8; for top-k 2 × topkFraction, at most 0.5, because a step
 * much larger than the fraction sent makes sparse exchanges oscillate instead of converge.
 */
export function defaultConsensusStep(codec: GossipCodecName, topkFraction: number): number {
  return codec === 'topk' ? Math.min(0.5, 2 * topkFraction) : 0.5;
}

/**
 * x ← (x + theirs) / 2, rounded once: both sides compute the same bits, so a pair agrees exactly.
 * Each change is also added to `pending` when given.
 */
export function averageInto(x: Float32Array, theirs: Float32Array, pending: Float32Array | null): void {
  for (let i = 0; i < x.length; i++) {
    const before = x[i] as number;
    x[i] = (before + (theirs[i] as number)) * 0.5;
    if (pending !== null) pending[i] = (pending[i] as number) + ((x[i] as number) - before);
  }
}

/**
 * x ← x + w(theirs − x): a pair's clipped step (w = ½ × the clip factor); the partner takes the same
 * step towards x, so the pair's sum is kept up to fp32 rounding. Each change is also added to
 * `pending` when given.
 */
export function mixInto(
  x: Float32Array,
  theirs: Float32Array,
  weight: number,
  pending: Float32Array | null,
): void {
  // The consensus step with x itself as "mine": each element of x is read before it is written.
  consensusStepInto(x, theirs, x, weight, pending);
}

/**
 * x ← x + γ(ĥ_theirs − ĥ_mine): the partner applies the same step with the references swapped, so
 * the two updates cancel and the pair's sum is unchanged whatever the codec lost. Each change is
 * also added to `pending` when given.
 */
export function consensusStepInto(
  x: Float32Array,
  theirs: Float32Array,
  mine: Float32Array,
  step: number,
  pending: Float32Array | null,
): void {
  for (let i = 0; i < x.length; i++) {
    const before = x[i] as number;
    x[i] = before + step * ((theirs[i] as number) - (mine[i] as number));
    if (pending !== null) pending[i] = (pending[i] as number) + ((x[i] as number) - before);
  }
}

/** The averaging step in TypeScript: the reference of the WGSL path and the fallback backends' path. */
export function averagingStepReference(step: AveragingStep): void {
  const { x, pair, outer, pending } = step;
  if (pair === null) {
    // x is already the average.
  } else if (pair.mine !== null) consensusStepInto(x, pair.theirs, pair.mine, pair.step, pending);
  else if (pair.step === 0.5) averageInto(x, pair.theirs, pending);
  else mixInto(x, pair.theirs, pair.step, pending);
  if (outer === null) return;
  const before = pending === null ? null : x.slice();
  outerSyncArrays(outer.synced, outer.velocity, x, outer);
  if (pending === null || before === null) return;
  for (let i = 0; i < x.length; i++)
    pending[i] = (pending[i] as number) + ((x[i] as number) - (before[i] as number));
}

/** target ← target + values (float32 sums, as the GPU's mix with weights [1, 1]); returns target. */
export function addInto(target: Float32Array, values: Float32Array): Float32Array {
  for (let i = 0; i < target.length; i++) target[i] = (target[i] as number) + (values[i] as number);
  return target;
}

/** x − reference, or a copy of x without one: what a differential codec compresses and sends. */
export function differenceFrom(x: Float32Array, reference: Float32Array | undefined): Float32Array {
  const diff = new Float32Array(x.length);
  for (let i = 0; i < diff.length; i++)
    diff[i] = (x[i] as number) - (reference === undefined ? 0 : (reference[i] as number));
  return diff;
}

/**
 * x ← params + pending, then pending ← 0: a trainer's fresh parameters plus the changes that
 * exchanges answered while it trained, so averaging never stops training.
 */
export function mergePending(x: Float32Array, params: Float32Array, pending: Float32Array | null): void {
  if (pending === null) {
    x.set(params); // nothing answered meanwhile: a copy
    return;
  }
  for (let i = 0; i < params.length; i++) x[i] = (params[i] as number) + (pending[i] as number);
  pending.fill(0);
}
