/**
 * Training-health verdicts, pure: from a job's checkpoint history, its volunteers' training-loss
 * reports and the outcomes of its uploads and exchanges, the alarms that should be active now.
 * training-health-monitor.ts feeds it and turns changes in its answer into events and metrics.
 */
import type { TrainingAlarmKind } from '@tabswarm/protocol';

/**
 * N: how many checkpoints a checkpoint alarm looks back over. At the default `everyShards` a
 * checkpoint is a few shards of work, so 5 in a row is long enough not to fire on the noise of one
 * round and short enough to tell an operator well before an epoch is wasted.
 */
export const HEALTH_WINDOW = 5;
/** A new best test loss must beat the earlier best by this fraction to count as progress. */
export const STALL_TOLERANCE = 1e-3;
/** Accuracy within this of the majority-class rate (or below it) counts as "the majority class". */
export const MAJORITY_TOLERANCE = 0.005;
/** The median of the last N reported losses above this multiple of the best earlier median: exploding. */
export const EXPLODE_FACTOR = 10;
/** A reported training loss this large is exploding whatever came before (cross-entropy of ~1e4 nats). */
export const HUGE_LOSS = 1e4;
/** Lease outcomes (completions and DIVERGED releases) a non-finite verdict looks back over… */
export const DIVERGED_WINDOW = 10;
/** …and how many of them must be DIVERGED: one tab's bad device once is not the job's fault. */
export const DIVERGED_MIN = 2;
/** Checkpoint rounds in a row with no upload accepted before the rejection alarm fires. */
export const FAILED_ROUND_WINDOW = 3;
/** Averaging exchanges with a verdict (ok, rejected, refused) in a row, all refused, before it fires. */
export const EXCHANGE_WINDOW = 10;

export interface CheckpointObservation {
  readonly seq: number;
  /** L2 norm of the checkpoint's parameters (stored with it). */
  readonly norm: number;
  /** Hash of the parameter bytes where this process saw them (parameterFingerprint), else null. */
  readonly fingerprint: number | null;
  /** Test evaluation; null until evaluated or when evaluation failed. */
  readonly accuracy: number | null;
  readonly loss: number | null;
}

export interface LeaseOutcome {
  /** A completion's reported mean training loss, or 'diverged' for a DIVERGED release. */
  readonly loss: number | 'diverged';
}

export type ExchangeVerdict = 'ok' | 'rejected' | 'refused';

export interface HealthInput {
  /** Ascending by seq, checkpoint 0 (the initial model) first. */
  readonly checkpoints: readonly CheckpointObservation[];
  /** Lease outcomes of the job, oldest first. */
  readonly leases: readonly LeaseOutcome[];
  /** Checkpoint rounds after checkpoint 0, oldest first: how many uploads each accepted. */
  readonly rounds: readonly { readonly accepted: number; readonly rejected: number }[];
  /** Exchange reports with a verdict, oldest first. */
  readonly exchanges: readonly ExchangeVerdict[];
  /** Share of the test split's most common label; null when unknown. */
  readonly majorityRate: number | null;
}

export interface AlarmVerdict {
  readonly kind: TrainingAlarmKind;
  readonly seq: number | null;
  readonly observed: string;
  readonly advice: string;
}

const ADVICE: Record<TrainingAlarmKind, string> = {
  'checkpoint-unchanged':
    'Training is not moving the model. Standardise the input features (raw values in the hundreds or ' +
    'thousands saturate ReLUs so no gradient flows), try a learning rate 10× larger or smaller, and ' +
    'check that uploads are accepted.',
  'test-loss-stalled':
    'Lower the learning rate (or raise it if the loss never moved), standardise the inputs, or try a ' +
    'larger model; if accuracy is where you need it, the job has converged and can stop.',
  'training-loss-diverging':
    'Lower the learning rate (try 10× smaller), add gradient clipping or a smaller batch, and ' +
    'standardise the input features.',
  'contributions-rejected':
    'The volunteers’ parameters fail the coordinator’s checks (see the rejected-update events for the ' +
    'reason): non-finite values mean the learning rate is too high; norm outliers mean a smaller ' +
    'learning rate or fewer local steps.',
  'majority-class':
    'The model has learnt only the class frequencies. Standardise the input features, try a different ' +
    'learning rate, or a larger model.',
};

const fmt = (x: number): string =>
  Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(3) : x.toFixed(4);
const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

/** A 32-bit FNV-1a hash of the parameters' bytes, read as 32-bit words: equal for bit-identical vectors. */
export function parameterFingerprint(values: Float32Array): number {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ (words[i] as number), 0x01000193);
  return h >>> 0;
}

/** The share of the most common label, or null for no labels. */
export function majorityRate(labels: ArrayLike<number>): number | null {
  if (labels.length === 0) return null;
  const counts = new Map<number, number>();
  let best = 0;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as number;
    const n = (counts.get(label) ?? 0) + 1;
    counts.set(label, n);
    if (n > best) best = n;
  }
  return best / labels.length;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const verdict = (kind: TrainingAlarmKind, seq: number | null, observed: string): AlarmVerdict => ({
  kind,
  seq,
  observed,
  advice: ADVICE[kind],
});

/** (a) The last N checkpoints are bit-identical to the one before them. */
function unchanged(checkpoints: readonly CheckpointObservation[]): AlarmVerdict | null {
  if (checkpoints.length < HEALTH_WINDOW + 1) return null;
  const window = checkpoints.slice(-(HEALTH_WINDOW + 1));
  const base = window[0] as CheckpointObservation;
  const same = window.every(
    (c) =>
      c.norm === base.norm &&
      (c.fingerprint === null || base.fingerprint === null || c.fingerprint === base.fingerprint),
  );
  if (!same) return null;
  const last = window.at(-1) as CheckpointObservation;
  const loss = last.loss === null ? '' : `, test loss ${fmt(last.loss)}`;
  return verdict(
    'checkpoint-unchanged',
    last.seq,
    `checkpoints ${base.seq + 1}–${last.seq} are bit-identical to checkpoint ${base.seq} ` +
      `(parameter norm ${fmt(base.norm)}${loss})`,
  );
}

const evaluated = (checkpoints: readonly CheckpointObservation[]) =>
  checkpoints.filter(
    (c): c is CheckpointObservation & { loss: number; accuracy: number } =>
      c.loss !== null && c.accuracy !== null,
  );

/** (b) None of the last N evaluated checkpoints beat the best test loss before them. */
function stalled(checkpoints: readonly CheckpointObservation[]): AlarmVerdict | null {
  const done = evaluated(checkpoints);
  if (done.length < HEALTH_WINDOW + 1) return null;
  const before = done.slice(0, -HEALTH_WINDOW);
  const window = done.slice(-HEALTH_WINDOW);
  const best = before.reduce((a, b) => (b.loss < a.loss ? b : a));
  const windowBest = Math.min(...window.map((c) => c.loss));
  if (windowBest < best.loss - STALL_TOLERANCE * Math.abs(best.loss)) return null;
  const last = window.at(-1) as (typeof window)[number];
  const rising = last.loss > best.loss + STALL_TOLERANCE * Math.abs(best.loss);
  return verdict(
    'test-loss-stalled',
    last.seq,
    `test loss has been ${rising ? 'rising' : 'flat'} for ${HEALTH_WINDOW} checkpoints: ` +
      `${fmt(last.loss)} at checkpoint ${last.seq}, best ${fmt(best.loss)} at checkpoint ${best.seq}`,
  );
}

/** (c) Volunteers report non-finite losses (DIVERGED), or the reported loss has exploded. */
function diverging(leases: readonly LeaseOutcome[]): AlarmVerdict | null {
  const recent = leases.slice(-DIVERGED_WINDOW);
  const nonFinite = recent.filter((l) => l.loss === 'diverged').length;
  if (nonFinite >= DIVERGED_MIN) {
    return verdict(
      'training-loss-diverging',
      null,
      `${nonFinite} of the last ${recent.length} shards ended with a non-finite training loss (NaN or ∞)`,
    );
  }
  const losses = leases.flatMap((l) => (l.loss === 'diverged' ? [] : [l.loss]));
  if (losses.length < HEALTH_WINDOW) return null;
  const now = median(losses.slice(-HEALTH_WINDOW));
  if (now >= HUGE_LOSS) {
    return verdict(
      'training-loss-diverging',
      null,
      `the median training loss of the last ${HEALTH_WINDOW} shards is ${fmt(now)}`,
    );
  }
  let best = Infinity;
  for (let end = HEALTH_WINDOW; end <= losses.length - HEALTH_WINDOW; end++)
    best = Math.min(best, median(losses.slice(end - HEALTH_WINDOW, end)));
  if (best === Infinity || now <= EXPLODE_FACTOR * best) return null;
  return verdict(
    'training-loss-diverging',
    null,
    `the median training loss of the last ${HEALTH_WINDOW} shards is ${fmt(now)}, ` +
      `${Math.round(now / best)}× its best earlier median (${fmt(best)})`,
  );
}

/** (d) The last rounds accepted no upload, or the last exchanges with a verdict were all refused. */
function rejected(input: HealthInput): AlarmVerdict | null {
  const rounds = input.rounds.slice(-FAILED_ROUND_WINDOW);
  if (rounds.length === FAILED_ROUND_WINDOW && rounds.every((r) => r.accepted === 0)) {
    const refused = rounds.reduce((n, r) => n + r.rejected, 0);
    return verdict(
      'contributions-rejected',
      null,
      `the last ${FAILED_ROUND_WINDOW} checkpoint rounds accepted no upload (${refused} refused or missing)`,
    );
  }
  const exchanges = input.exchanges.slice(-EXCHANGE_WINDOW);
  if (exchanges.length === EXCHANGE_WINDOW && exchanges.every((e) => e !== 'ok')) {
    return verdict(
      'contributions-rejected',
      null,
      `the last ${EXCHANGE_WINDOW} averaging exchanges were all rejected or refused: no volunteer ` +
        'has averaged with another',
    );
  }
  return null;
}

/** (e) The last N evaluated checkpoints (after the initial model) score no better than the majority class. */
function majority(input: HealthInput): AlarmVerdict | null {
  const rate = input.majorityRate;
  if (rate === null) return null;
  const done = evaluated(input.checkpoints).filter((c) => c.seq > 0);
  if (done.length < HEALTH_WINDOW) return null;
  const window = done.slice(-HEALTH_WINDOW);
  if (!window.every((c) => c.accuracy <= rate + MAJORITY_TOLERANCE)) return null;
  const last = window.at(-1) as (typeof window)[number];
  return verdict(
    'majority-class',
    last.seq,
    `test accuracy ${pct(last.accuracy)} at checkpoint ${last.seq} (the last ${HEALTH_WINDOW} within ` +
      `${pct(MAJORITY_TOLERANCE)} of or below it) is what always answering the most common class ` +
      `scores: ${pct(rate)}`,
  );
}

/**
 * The alarms the history calls for, in TRAINING_ALARM_KINDS order. A stalled test loss is not
 * reported on its own when the checkpoints are unchanged: that says why, and more precisely.
 */
export function trainingAlarms(input: HealthInput): AlarmVerdict[] {
  const same = unchanged(input.checkpoints);
  return [
    same,
    same ? null : stalled(input.checkpoints),
    diverging(input.leases),
    rejected(input),
    majority(input),
  ].filter((v): v is AlarmVerdict => v !== null);
}
