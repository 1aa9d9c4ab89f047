/**
 * FedAvg rounds on the coordinator: the baseline averaging, and the fallback when peers cannot
 * connect at all. Volunteers upload their parameters (an fp32 frame); each upload joins the job's
 * open round and its request waits until the round closes, then gets the round's average
 * W = Σ nₖ/N · Wₖ.
 *
 * The weight nₖ is never what the volunteer declares (the samples header is checked for form
 * only): it is the samples the coordinator itself counted for that volunteer on that job (its
 * counted shard completions) since its last upload that went into an averaged round. A volunteer
 * the coordinator counted no work of on the job is refused (NO_COUNTED_WORK), and one with no new
 * counted work since its last averaged upload has nothing to add (NO_NEW_WORK); both are counted
 * as rejections like the validation failures. A round that fails (no quorum) consumes nothing.
 *
 * The average is robust: the rule of `averaging.aggregation` (core's aggregateRound; the median,
 * trimmed-mean and centered-clipping rules weigh uploads equally or as below), by default
 * `clipped` (core's robustRound, as for checkpoints): an upload is checked alone for
 * its frame, length and finite values; when the round closes, each upload's difference from the
 * reference (the previous round's average, or the latest checkpoint before the first round) is
 * measured against the round's scale, the lower median of those differences' norms. One more
 * than `averaging.maxNormRatio` × the scale is an OUTLIER: refused (422), it keeps its own model;
 * the others' differences are clipped to DEFAULT_CLIP_MULTIPLE × the scale and averaged with
 * their counted weights. Nothing an upload does moves the reference the next round is judged by
 * except through that bounded average, so no volunteer can lock the others out.
 *
 * A round closes when every expected volunteer uploaded; or, once a quorum (the job's fraction of
 * the expected volunteers) is in, after a short grace (a tenth of the deadline); or at the
 * deadline. Without a quorum by the deadline the round fails and everyone keeps their own model.
 * An upload that arrives after its round closed joins the next one: nobody waits for stragglers
 * longer than the grace, and nobody for a vanished volunteer longer than the deadline.
 */
import { aggregateRound, validateContribution } from '@tabswarm/core';
import {
  decodeFrame,
  encodeFp32Frame,
  frameValues,
  aggregationShortfall,
  defaultAggregation,
  type AggregationSpec,
  type AveragingSpec,
  type FedAvgState,
} from '@tabswarm/protocol';
import type { Logger } from '../logger.ts';
import type { GossipMetrics } from './metrics.ts';

export interface FedAvgJob {
  /** Length of the flat parameter vector; null until the coordinator built the model. */
  readonly parameterCount: number | null;
  readonly averaging: Pick<AveragingSpec, 'mode' | 'roundDeadlineMs' | 'quorum' | 'maxNormRatio'> & {
    /** Absent in jobs stored before the option existed: the default rule. */
    readonly aggregation?: AveragingSpec['aggregation'];
  };
  readonly running: boolean;
}

export interface FedAvgDeps {
  readonly job: (jobId: string) => FedAvgJob | undefined;
  /** Volunteers expected to upload each round: connected, active, working on the job. */
  readonly expectedParticipants: (jobId: string) => number;
  /** What the first round is measured from: the latest checkpoint's parameters (null: zeros). */
  readonly referenceValues?: (jobId: string) => Promise<Float32Array | null>;
  /** Samples the coordinator counted for the volunteer on the job, in all (counted completions). */
  readonly countedSamples: (jobId: string, nodeId: string) => number;
  /** A volunteer outvoted by validated work: its uploads are refused (absent: nobody is). */
  readonly distrusted?: (nodeId: string) => boolean;
  /** The loss screen's scores of a round's uploads (aggregation.lossScreenSamples); undefined: none. */
  readonly screeningLosses?: (
    jobId: string,
    rule: AggregationSpec,
    uploads: readonly Float32Array[],
  ) => Promise<number[] | undefined>;
  /** A refused upload, by its code: for the rejection metrics. */
  readonly onRejected?: (jobId: string, nodeId: string, code: string) => void;
  readonly metrics?: GossipMetrics;
  readonly log?: Logger;
}

export type FedAvgOutcome =
  | {
      readonly ok: true;
      readonly round: number;
      readonly participants: number;
      readonly samples: number;
      /** The average as an fp32 frame from sender "coordinator", round = the round number. */
      readonly frame: Uint8Array;
    }
  | {
      readonly ok: false;
      readonly status: 400 | 403 | 404 | 409 | 422;
      readonly code: string;
      readonly message: string;
    };

interface Upload {
  readonly values: Float32Array;
  /** The weight: samples counted by the coordinator since the volunteer's last averaged upload. */
  readonly samples: number;
  /** The volunteer's counted total when it uploaded: its mark once the round is averaged. */
  readonly countedTotal: number;
  readonly resolve: (outcome: FedAvgOutcome) => void;
}

interface Round {
  readonly jobId: string;
  readonly seq: number;
  readonly openedAt: number;
  readonly uploads: Map<string, Upload>;
  /** The previous round's average (or the latest checkpoint): what the round is measured from. */
  readonly reference: Promise<Float32Array | null>;
  deadline: ReturnType<typeof setTimeout> | undefined;
  grace: ReturnType<typeof setTimeout> | undefined;
}

const fail = (status: 400 | 403 | 404 | 409 | 422, code: string, message: string): FedAvgOutcome => ({
  ok: false,
  status,
  code,
  message,
});

/** Refusals that say the job's state, not what the volunteer sent: not counted as rejections. */
const NOT_THE_VOLUNTEERS = new Set(['NOT_FOUND', 'NOT_FEDAVG', 'NOT_RUNNING', 'NOT_READY']);

export class FedAvgRounds {
  readonly #deps: FedAvgDeps;
  readonly #open = new Map<string, Round>();
  readonly #next = new Map<string, number>();
  /** Per job: the reference of the next round (the last average, once there is one). */
  readonly #reference = new Map<string, Promise<Float32Array | null>>();
  readonly #lastParticipants = new Map<string, number>();
  /** centered-clipping's momentum: each job's last round step (in memory; a restart starts from 0). */
  readonly #previousSteps = new Map<string, Float32Array>();
  /** Per job, per volunteer: its counted samples when its last averaged upload was made. */
  readonly #consumed = new Map<string, Map<string, number>>();
  #closed = false;

  constructor(deps: FedAvgDeps) {
    this.#deps = deps;
  }

  /**
   * Validates an upload and resolves once its round closes. Never rejects. `declaredSamples` is
   * the volunteer's claim: checked for form, never used as its weight.
   */
  upload(jobId: string, nodeId: string, body: Uint8Array, declaredSamples: number): Promise<FedAvgOutcome> {
    const outcome = this.#accept(jobId, nodeId, body, declaredSamples);
    if (outcome instanceof Promise) return outcome;
    if (!outcome.ok && !NOT_THE_VOLUNTEERS.has(outcome.code)) {
      this.#deps.onRejected?.(jobId, nodeId, outcome.code);
      this.#deps.log?.warn({ jobId, nodeId, code: outcome.code }, 'FedAvg upload rejected');
    }
    return Promise.resolve(outcome);
  }

  #accept(
    jobId: string,
    nodeId: string,
    body: Uint8Array,
    samples: number,
  ): FedAvgOutcome | Promise<FedAvgOutcome> {
    const job = this.#deps.job(jobId);
    if (job === undefined) return fail(404, 'NOT_FOUND', `no job ${jobId}`);
    if (job.averaging.mode !== 'fedavg') {
      return fail(409, 'NOT_FEDAVG', 'this job averages by gossip, not FedAvg');
    }
    if (!job.running || this.#closed) return fail(409, 'NOT_RUNNING', 'the job is not running');
    const n = job.parameterCount;
    if (n === null) return fail(409, 'NOT_READY', 'the job has no model yet');
    if (this.#deps.distrusted?.(nodeId) === true) {
      return fail(
        403,
        'DISTRUSTED',
        "this volunteer's replicated work was outvoted; its uploads are refused",
      );
    }
    if (!Number.isSafeInteger(samples) || samples < 1 || samples > 1e9) {
      return fail(400, 'BAD_REQUEST', 'samples must be a whole number from 1 to 10^9');
    }
    // The weight is the work the coordinator counted, before anything is decoded.
    const countedTotal = this.#deps.countedSamples(jobId, nodeId);
    if (!(countedTotal > 0)) {
      return fail(
        403,
        'NO_COUNTED_WORK',
        'the coordinator has counted no completed shard of this volunteer on this job',
      );
    }
    const weight = countedTotal - (this.#consumed.get(jobId)?.get(nodeId) ?? 0);
    if (!(weight > 0)) {
      return fail(
        409,
        'NO_NEW_WORK',
        'no completed shard of this volunteer was counted since its last averaged upload',
      );
    }
    const frame = decodeFrame(body, { maxBytes: n * 4 + 1024 });
    if (!frame.ok) return fail(422, frame.code, frame.message);
    if (frame.header.jobId !== jobId) return fail(422, 'WRONG_JOB', `frame is for job ${frame.header.jobId}`);
    if (frame.header.senderId !== nodeId)
      return fail(422, 'WRONG_SENDER', 'the frame sender is not the authenticated volunteer');
    const values = frameValues(frame).slice();
    // Length and finite values; how far it moved is judged among the round's uploads at close.
    const check = validateContribution(values, { expectedLength: n, previousNorm: null, maxNormRatio: 1 });
    if (!check.ok) return fail(422, check.reason, check.message);
    const round = this.#round(jobId, job);
    if (round.uploads.has(nodeId)) {
      return fail(409, 'ALREADY_UPLOADED', `this volunteer already uploaded for round ${round.seq}`);
    }
    return new Promise((resolve) => {
      round.uploads.set(nodeId, { values, samples: weight, countedTotal, resolve });
      this.#maybeClose(round, job);
    });
  }

  state(jobId: string): FedAvgState {
    const round = this.#open.get(jobId);
    return {
      round: this.#next.get(jobId) ?? 0,
      open:
        round === undefined
          ? null
          : { uploads: round.uploads.size, expected: this.#expected(jobId), openedAt: round.openedAt },
      lastParticipants: this.#lastParticipants.get(jobId) ?? null,
    };
  }

  close(): void {
    this.#closed = true;
    for (const round of [...this.#open.values()]) {
      this.#finish(round, fail(409, 'NOT_RUNNING', 'the coordinator is shutting down'));
    }
  }

  #expected(jobId: string): number {
    return Math.max(1, this.#deps.expectedParticipants(jobId));
  }

  #round(jobId: string, job: FedAvgJob): Round {
    let round = this.#open.get(jobId);
    if (round === undefined) {
      const seq = this.#next.get(jobId) ?? 0;
      this.#next.set(jobId, seq + 1);
      const opened: Round = {
        jobId,
        seq,
        openedAt: Date.now(),
        uploads: new Map(),
        reference: this.#referenceOf(jobId),
        deadline: undefined,
        grace: undefined,
      };
      opened.deadline = setTimeout(() => this.#closeRound(opened), job.averaging.roundDeadlineMs);
      this.#open.set(jobId, opened);
      round = opened;
    }
    return round;
  }

  #referenceOf(jobId: string): Promise<Float32Array | null> {
    let reference = this.#reference.get(jobId);
    if (reference === undefined) {
      const load = this.#deps.referenceValues?.(jobId) ?? Promise.resolve(null);
      reference = load.catch((error: unknown) => {
        this.#deps.log?.warn({ err: error, jobId }, 'FedAvg: the latest checkpoint could not be read');
        return null;
      });
      this.#reference.set(jobId, reference);
    }
    return reference;
  }

  #maybeClose(round: Round, job: FedAvgJob): void {
    const expected = this.#expected(round.jobId);
    const quorum = Math.max(1, Math.ceil(job.averaging.quorum * expected));
    if (round.uploads.size >= expected) {
      this.#closeRound(round);
    } else if (round.uploads.size >= quorum && round.grace === undefined) {
      const graceMs = Math.max(200, job.averaging.roundDeadlineMs / 10);
      round.grace = setTimeout(() => this.#closeRound(round), graceMs);
    }
  }

  #closeRound(round: Round): void {
    if (this.#open.get(round.jobId) !== round) return;
    const job = this.#deps.job(round.jobId);
    const expected = this.#expected(round.jobId);
    const quorum = Math.max(1, Math.ceil((job?.averaging.quorum ?? 1) * expected));
    const uploads = [...round.uploads.values()];
    if (uploads.length < quorum || uploads.length === 0) {
      this.#deps.metrics?.fedAvgRounds.inc({ job: round.jobId, outcome: 'no_quorum' });
      this.#finish(
        round,
        fail(
          409,
          'NO_QUORUM',
          `round ${round.seq} got ${uploads.length} of the ${quorum} uploads it needed in time`,
        ),
      );
      return;
    }
    // Closed to new uploads now (they open the next round); averaged once the reference is there.
    clearTimeout(round.deadline);
    clearTimeout(round.grace);
    this.#open.delete(round.jobId);
    const averaged = round.reference
      .then((reference) => this.#average(round, reference, job))
      .catch((error: unknown) => {
        this.#deps.log?.error({ err: error, jobId: round.jobId }, 'FedAvg round failed');
        this.#finish(round, fail(409, 'NOT_AVERAGED', `round ${round.seq} could not be averaged`));
        throw error;
      });
    // The next round is measured from this one's average (or this one's reference if none).
    this.#reference.set(
      round.jobId,
      averaged.then(
        (values) => values,
        () => round.reference,
      ),
    );
  }

  /** The robust average of a closed round: answers every upload, returns the average (or the reference). */
  async #average(
    round: Round,
    stored: Float32Array | null,
    job: FedAvgJob | undefined,
  ): Promise<Float32Array | null> {
    const entries = [...round.uploads];
    const length = (entries[0] as [string, Upload])[1].values.length;
    const reference = stored !== null && stored.length === length ? stored : new Float32Array(length);
    const rule = job?.averaging.aggregation ?? defaultAggregation();
    const shortfall = aggregationShortfall(rule, entries.length);
    if (shortfall !== null)
      this.#deps.log?.warn(
        { jobId: round.jobId, round: round.seq, shortfall },
        'FedAvg round: too few uploads',
      );
    const losses = await this.#deps.screeningLosses?.(
      round.jobId,
      rule,
      entries.map(([, u]) => u.values),
    );
    const robust = aggregateRound(
      rule,
      entries.map(([, u]) => ({ values: u.values, weight: u.samples })),
      {
        reference,
        maxRatio: job?.averaging.maxNormRatio ?? 10,
        previousStep: this.#previousSteps.get(round.jobId) ?? null,
        ...(losses === undefined ? {} : { losses }),
      },
    );
    if (robust.step !== null && rule.rule === 'centered-clipping')
      this.#previousSteps.set(round.jobId, robust.step);
    for (const outlier of robust.outliers) {
      const [nodeId, upload] = entries[outlier.index] as [string, Upload];
      const code = outlier.kind === 'loss' ? 'LOSS_OUTLIER' : 'OUTLIER';
      this.#deps.onRejected?.(round.jobId, nodeId, code);
      this.#deps.log?.warn(
        { jobId: round.jobId, nodeId, code, reason: outlier.message },
        'FedAvg upload rejected',
      );
      upload.resolve(fail(422, code, outlier.message));
    }
    const values = robust.values as Float32Array;
    let consumed = this.#consumed.get(round.jobId);
    if (consumed === undefined) this.#consumed.set(round.jobId, (consumed = new Map<string, number>()));
    const kept = robust.kept.map((k) => entries[k.index] as [string, Upload]);
    for (const [nodeId, upload] of kept) consumed.set(nodeId, upload.countedTotal);
    this.#lastParticipants.set(round.jobId, kept.length);
    const samples = kept.reduce((sum, [, u]) => sum + u.samples, 0);
    const frame = encodeFp32Frame({ jobId: round.jobId, senderId: 'coordinator', round: round.seq, values });
    this.#deps.metrics?.fedAvgRounds.inc({ job: round.jobId, outcome: 'averaged' });
    this.#deps.log?.info(
      {
        jobId: round.jobId,
        round: round.seq,
        participants: kept.length,
        samples,
        outliers: robust.outliers.length,
        clipped: robust.kept.filter((k) => k.clip < 1).length,
      },
      'FedAvg round averaged',
    );
    const outcome: FedAvgOutcome = { ok: true, round: round.seq, participants: kept.length, samples, frame };
    for (const [, upload] of kept) upload.resolve(outcome);
    return values;
  }

  #finish(round: Round, outcome: FedAvgOutcome): void {
    clearTimeout(round.deadline);
    clearTimeout(round.grace);
    if (this.#open.get(round.jobId) === round) this.#open.delete(round.jobId);
    for (const upload of round.uploads.values()) upload.resolve(outcome);
  }
}
