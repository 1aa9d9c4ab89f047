/**
 * Validated work (BOINC's model): the statistics a replica reports of its update, when two
 * replicas agree, how replicated results are judged, and how trust and the spot-check rate move.
 * The trainer computes the statistics and the coordinator judges them with these same functions.
 */
import { mix32, mulberry32 } from './random.ts';

/** Seeded random projections each replica reports besides the norm of its update. */
export const VALIDATION_PROJECTIONS = 4;
/** A volunteer's trust before any of its work was checked. */
export const INITIAL_TRUST = 0.5;
/** Below this trust a volunteer gets no more leases and its active ones are released. */
export const DISTRUST_BELOW = 0.2;
/** Even the most trusted volunteer is spot-checked at this fraction of the job's replication. */
export const MIN_SPOT_CHECK_FACTOR = 0.1;
/**
 * An update smaller than this is no evidence of work: it agrees with nothing, not even another
 * like it, so two volunteers that both skip training cannot validate each other.
 */
const NORM_FLOOR = 1e-12;

/** What a replica reports of the parameter change over its shard (end − start). */
export interface UpdateStatistics {
  /** ‖end − start‖₂. */
  readonly norm: number;
  /** Σᵢ sᵢ (endᵢ − startᵢ) for VALIDATION_PROJECTIONS seeded sign vectors s ∈ {−1, 1}ⁿ. */
  readonly projections: readonly number[];
}

/** One replica's result as the coordinator judges it. */
export interface ReplicaResult {
  readonly id: string;
  readonly loss: number;
  /** null: the completion carried no statistics (it cannot agree with anything). */
  readonly update: UpdateStatistics | null;
}

/** The seed of a shard's projections: every replica of (job seed, epoch, shard) uses the same. */
export function replicaSeed(jobSeed: number, epoch: number, shard: number): number {
  return mix32(mix32(mix32(jobSeed ^ 0x7a11d) ^ epoch) ^ shard);
}

/**
 * The statistics of `end − start`. Each projection's signs come 32 at a time from one draw of
 * mulberry32(mix32(seed + k)), so every engine computes the same vector for a seed; its expected
 * square is ‖end − start‖², so the tolerance is relative to the norm for both.
 */
export function updateStatistics(
  start: Float32Array,
  end: Float32Array,
  seed: number,
  count = VALIDATION_PROJECTIONS,
): UpdateStatistics {
  if (start.length !== end.length) throw new RangeError('start and end differ in length');
  const n = start.length;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += ((end[i] as number) - (start[i] as number)) ** 2;
  const projections: number[] = [];
  for (let k = 0; k < count; k++) {
    const random = mulberry32(mix32((seed + k * 0x9e3779b9) | 0));
    let sum = 0;
    let bits = 0;
    for (let i = 0; i < n; i++) {
      if ((i & 31) === 0) bits = Math.floor(random() * 4294967296) >>> 0;
      const d = (end[i] as number) - (start[i] as number);
      sum += (bits >>> (i & 31)) & 1 ? d : -d;
    }
    projections.push(sum);
  }
  return { norm: Math.sqrt(squares), projections };
}

/**
 * Whether two replicas of a shard agree: both moved the model (norm above NORM_FLOOR), losses
 * within `tolerance` of the larger, and the norms and every projection within `tolerance` × the
 * larger norm. Two honest replicas differ only by floating-point order (backends, GPUs); a
 * replica that did not train reports nothing like one that did.
 */
export function resultsAgree(a: ReplicaResult, b: ReplicaResult, tolerance: number): boolean {
  if (a.update === null || b.update === null) return false;
  if (!(Math.abs(a.loss - b.loss) <= tolerance * Math.max(Math.abs(a.loss), Math.abs(b.loss), 1e-6)))
    return false;
  if (!(a.update.norm >= NORM_FLOOR && b.update.norm >= NORM_FLOOR)) return false;
  const scale = Math.max(a.update.norm, b.update.norm);
  const limit = tolerance * scale;
  if (!(Math.abs(a.update.norm - b.update.norm) <= limit)) return false;
  const pa = a.update.projections;
  const pb = b.update.projections;
  if (pa.length !== pb.length || pa.length === 0) return false;
  return pa.every((p, k) => Math.abs(p - (pb[k] as number)) <= limit);
}

/** Most replicas a shard gets: two, and a third as tie-breaker when the first two disagree. */
export const MAX_REPLICAS = 3;

export type ReplicaJudgement =
  /** A majority agrees: `valid` are its members, `invalid` the rest. */
  | { readonly state: 'valid'; readonly valid: readonly string[]; readonly invalid: readonly string[] }
  /** Not enough results, or two that disagree: another replica decides. */
  | { readonly state: 'pending' }
  /** MAX_REPLICAS results and no two agree: nobody can be told right. */
  | { readonly state: 'inconclusive'; readonly invalid: readonly string[] };

/**
 * Judges a shard's replica results. Two that agree are valid together. Two that disagree cannot
 * say who is wrong: a third replica (another volunteer) is asked for, and whoever agrees with it
 * is valid, the other invalid. Three that all disagree are inconclusive: all of them lose a little.
 */
export function judgeReplicas(results: readonly ReplicaResult[], tolerance: number): ReplicaJudgement {
  let best: ReplicaResult[] = [];
  for (const pivot of results) {
    const group = results.filter((r) => r === pivot || resultsAgree(pivot, r, tolerance));
    if (group.length > best.length) best = group;
  }
  if (best.length >= 2) {
    const valid = new Set(best.map((r) => r.id));
    return {
      state: 'valid',
      valid: [...valid],
      invalid: results.filter((r) => !valid.has(r.id)).map((r) => r.id),
    };
  }
  if (results.length >= MAX_REPLICAS) return { state: 'inconclusive', invalid: results.map((r) => r.id) };
  return { state: 'pending' };
}

/** Trust after a result of the volunteer's was judged. */
export function nextTrust(trust: number, verdict: 'valid' | 'invalid' | 'inconclusive'): number {
  switch (verdict) {
    case 'valid':
      return trust + (1 - trust) * 0.1;
    case 'invalid':
      // Outvoted is strong evidence: a new volunteer falls below DISTRUST_BELOW at once; one
      // trusted for long (≥ 0.67) survives a single fluke.
      return trust * 0.3;
    case 'inconclusive':
      return trust * 0.8;
  }
}

export function isDistrusted(trust: number): boolean {
  return trust < DISTRUST_BELOW;
}

/**
 * The fraction of a volunteer's shards that are replicated: the job's replication at the initial
 * trust, falling linearly to MIN_SPOT_CHECK_FACTOR of it as trust approaches 1 (adaptive
 * replication), never below; a volunteer less trusted than at first is checked at the full rate.
 */
export function spotCheckRate(replication: number, trust: number): number {
  const factor = Math.min(1, Math.max(MIN_SPOT_CHECK_FACTOR, (1 - trust) / (1 - INITIAL_TRUST)));
  return replication * factor;
}

/** The seeded rule: shard (epoch, shard) of a job is replicated at `rate` iff its draw is below it. */
export function isReplicated(jobSeed: number, epoch: number, shard: number, rate: number): boolean {
  return mix32(replicaSeed(jobSeed, epoch, shard) ^ 0x5107) / 4294967296 < rate;
}
