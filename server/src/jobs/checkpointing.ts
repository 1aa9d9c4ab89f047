/**
 * Checkpoint rounds: after every `everyShards` counted shards (and when a job ends) the
 * coordinator asks k volunteers that trained the job for their parameters, validates each upload,
 * averages the accepted ones, writes the file atomically, records it, and evaluates it on the test
 * set. Checkpoint 0 is the seeded initial model, written when the job is created, so every
 * volunteer and a restarted coordinator always have a model to start from.
 *
 * Every volunteer is untrusted. An upload is checked on arrival for what it is alone (frame,
 * job, sender, length, finite values); when the round closes, the uploads are averaged by the
 * job's `checkpoint.aggregation` rule (core's aggregateRound), by default `clipped`: measured
 * against the round's own scale, outliers rejected (recorded, counted and logged as OUTLIER), the
 * rest clipped — so no contributor can move the reference the next round is judged by, nor lock
 * the honest ones out (packages/core/src/robust-aggregation.ts says how far one can move it).
 */
import crypto from 'node:crypto';
import { aggregateRound, l2Norm, validateContribution, type DatasetShape } from '@tabswarm/core';
import {
  defaultAggregation,
  type AggregationSpec,
  decodeFrame,
  encodeFp32Frame,
  frameValues,
  ProtocolError,
  type JobSpec,
} from '@tabswarm/protocol';
import { cleanupAllTempFiles, writeCheckpointFile } from '../checkpoints/checkpoint-files.ts';
import { evaluateParameters } from '../checkpoints/evaluate.ts';
import { loadLatestCheckpoint } from '../checkpoints/latest-checkpoint.ts';
import { initialParameters } from '../checkpoints/model-factory.ts';
import type { ServerMetrics } from '../metrics.ts';
import { CheckpointReader } from './checkpoint-reader.ts';
import { JobModels } from './job-models.ts';
import type { CheckpointRecord, RejectedContributor } from '../store/checkpoint-repository.ts';
import { isTerminal } from '../scheduler/scheduler.ts';
import type { JobRecord } from '../scheduler/types.ts';
import {
  MAX_UPLOAD_RETRIES,
  recordMissingUploads,
  tokenOwner,
  type CheckpointChange,
  type Round,
  type Upload,
  type UploadOutcome,
} from './checkpoint-round.ts';
import { evaluateCheckpoint, type EvaluationDeps } from './checkpoint-evaluation.ts';
import { describeModel, type JobModel } from './job-model.ts';
import { screeningLosses, type ScreeningDeps } from './upload-screening.ts';

export type { JobModel } from './job-model.ts';

/** What checkpoint rounds need; the repository, scheduler, log, events and datasets as evaluation does. */
export interface CheckpointDeps extends EvaluationDeps {
  readonly dataDir: string;
  readonly metrics: ServerMetrics;
  /** Connected, active volunteers among these node ids (in the given order), at most `limit`. */
  readonly pickContributors: (preferred: readonly string[], limit: number) => string[];
  readonly sendRequest: (
    nodeId: string,
    request: { requestId: string; token: string; deadline: number },
    jobId: string,
  ) => boolean;
  /** The loss screen's samples (see upload-screening.ts); absent: no round is loss-screened. */
  readonly screeningSet?: ScreeningDeps['screeningSet'];
  /** Checkpoints written and evaluated, and rounds that accepted no upload (the listener logs those). */
  readonly onCheckpoint: (jobId: string, change: CheckpointChange) => void;
  readonly now?: () => number;
  /** Other coordinators share the database (PostgreSQL): their rounds may be in flight. */
  readonly sharedStore?: boolean;
}

/** A reservation this old belongs to no round in flight (upload timeouts are far shorter). */
const STALE_RESERVATION_MS = 60 * 60_000;

export class Checkpointing extends CheckpointReader {
  private readonly rounds = new Map<string, Round>();
  /** centered-clipping's momentum: each job's last checkpoint step (in memory; a restart starts from 0). */
  private readonly previousSteps = new Map<string, Float32Array>();
  /** Jobs that asked for a checkpoint while one was in flight. */
  private readonly wanted = new Set<string>();
  /** Evaluations run one at a time: they are CPU-bound and share the event loop. */
  private evaluations: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly deps: CheckpointDeps) {
    const models = new JobModels(
      async (jobId) => {
        const job = deps.scheduler.getJob(jobId);
        const shape = job && deps.datasetShape(job.spec.dataset);
        return job && shape ? describeModel(job.spec, shape) : undefined;
      },
      (jobId, err) => deps.log.warn({ err, jobId }, 'cannot describe the job model'),
    );
    super(deps, models);
    this.now = deps.now ?? Date.now;
  }

  /** Checks that the spec's model fits the dataset and returns its layout; throws a readable error. */
  describeModel(spec: JobSpec, dataset: DatasetShape): Promise<JobModel> {
    return describeModel(spec, dataset);
  }

  parameterCount(jobId: string): number | null {
    return this.models.getOrLoad(jobId)?.layout.total ?? null;
  }

  /** The loss screen's scores of a round's uploads under `rule` (upload-screening.ts); undefined: none. */
  screeningLosses(jobId: string, rule: AggregationSpec, uploads: readonly Float32Array[]) {
    const job = this.deps.scheduler.getJob(jobId);
    const model = this.models.get(jobId);
    const screeningSet = this.deps.screeningSet;
    if (!job || !model || screeningSet === undefined) return Promise.resolve(undefined);
    const evaluate = this.deps.evaluate ?? evaluateParameters;
    return screeningLosses(
      { evaluate, screeningSet, log: this.deps.log },
      model.topology,
      job,
      rule,
      uploads,
    );
  }

  /** Writes checkpoint 0, the seeded initial model, and evaluates it as the baseline. */
  async initialize(job: JobRecord, model: JobModel): Promise<void> {
    this.models.set(job.id, model);
    if (this.deps.repo.latest(job.id)) return;
    const shape = this.shapeOf(job);
    const values = await initialParameters(job.spec.model, shape, job.spec.training.seed);
    await this.persist(job, 0, 0, values, { accepted: [], rejected: [] });
  }

  /** At start: clear temp files, load each job's model, and write checkpoint 0 where a crash lost it. */
  async recover(): Promise<void> {
    // Rounds in flight at a crash: their numbers are free again. On a shared database another
    // coordinator's rounds may be in flight: only reservations far older than any round go.
    this.deps.repo.dropReservations(
      this.deps.sharedStore === true ? this.now() - STALE_RESERVATION_MS : Number.MAX_SAFE_INTEGER,
    );
    const removed = await cleanupAllTempFiles(this.deps.dataDir);
    if (removed.length > 0)
      this.deps.log.info({ removed: removed.length }, 'removed checkpoint temp files from a crash');
    for (const job of this.deps.scheduler.listJobs()) {
      const shape = this.deps.datasetShape(job.spec.dataset);
      if (!shape) {
        if (!isTerminal(job.status))
          this.deps.scheduler.fail(job.id, `dataset ${job.spec.dataset} is missing`);
        continue;
      }
      const model = await this.describeModel(job.spec, shape);
      this.models.set(job.id, model);
      const { latest, skipped } = await loadLatestCheckpoint(this.deps.repo, this.deps.dataDir, job.id);
      for (const s of skipped)
        this.deps.log.warn({ jobId: job.id, ...s }, 'checkpoint skipped: its file does not verify');
      if (!latest) await this.initialize(job, model);
    }
  }

  /** Called after every counted shard: starts a round when the interval is reached or the job ended. */
  maybeRequest(job: JobRecord): void {
    const interval = job.spec.checkpoint.everyShards;
    const ended = job.status === 'completed';
    if (ended || (job.shardsDone > 0 && job.shardsDone % interval === 0)) this.request(job.id);
  }

  request(jobId: string): string | null {
    if (this.closed) return null;
    if (this.rounds.has(jobId)) {
      this.wanted.add(jobId);
      return null;
    }
    const job = this.deps.scheduler.getJob(jobId);
    const model = this.models.get(jobId);
    if (job && !model) {
      // Created by another coordinator: the round starts once the model is described.
      void this.models.load(jobId).then(() => {
        if (this.models.get(jobId) !== undefined) this.request(jobId);
      });
      return null;
    }
    if (!job || !model || this.targetMetBy(job) !== undefined) return null;
    const contributors = this.deps.pickContributors(
      this.deps.scheduler.recentWorkers(jobId, 64),
      job.spec.checkpoint.contributors,
    );
    if (contributors.length === 0) {
      this.deps.log.info({ jobId }, 'checkpoint skipped: no volunteer that trained this job is connected');
      return null;
    }
    const round: Round = {
      requestId: crypto.randomBytes(8).toString('hex'),
      jobId,
      seq: this.deps.repo.reserveSeq(jobId, this.now()),
      startedAt: this.now(),
      shardsDone: job.shardsDone,
      tokens: new Map(),
      accepted: new Map(),
      rejected: [],
      transportFailures: new Map(),
      timer: undefined,
      finishing: false,
    };
    const deadline = round.startedAt + job.spec.checkpoint.uploadTimeoutMs;
    for (const nodeId of contributors) {
      const token = crypto.randomBytes(16).toString('hex');
      round.tokens.set(nodeId, token);
      this.deps.sendRequest(nodeId, { requestId: round.requestId, token, deadline }, jobId);
    }
    round.timer = setTimeout(() => void this.finish(round), job.spec.checkpoint.uploadTimeoutMs);
    this.rounds.set(jobId, round);
    this.deps.log.info({ jobId, seq: round.seq, contributors }, 'checkpoint requested');
    return round.requestId;
  }

  /**
   * The volunteer an upload's token names, checked before its body is read and again by upload():
   * throws UNKNOWN_JOB when no round with this id is open, NOT_YOUR_LEASE for a token it did not issue.
   */
  uploader(jobId: string, requestId: string, token: string): string {
    const round = this.rounds.get(jobId);
    if (!round || round.requestId !== requestId || round.finishing) {
      throw new ProtocolError('UNKNOWN_JOB', 'no checkpoint round with this id is open for the job');
    }
    const nodeId = tokenOwner(round, token);
    if (nodeId === undefined)
      throw new ProtocolError('NOT_YOUR_LEASE', 'this upload token is not valid for the round');
    return nodeId;
  }

  /** An upload for a round: authenticated by its per-volunteer token, validated, never trusted. */
  upload(jobId: string, requestId: string, token: string | undefined, body: Uint8Array): UploadOutcome {
    const nodeId = this.uploader(jobId, requestId, token ?? '');
    const round = this.rounds.get(jobId) as Round;
    if (round.accepted.has(nodeId) || round.rejected.some((r) => r.nodeId === nodeId)) {
      // An outcome, not a throw: the route answers it like any refused upload (422, with the code).
      return {
        accepted: false,
        reason: 'ALREADY_UPLOADED',
        message: 'this volunteer already uploaded for the round',
      };
    }
    const model = this.models.get(jobId) as JobModel;
    const reject = (reason: string, message: string): UploadOutcome => {
      this.rejectUpload(round, nodeId, reason, message);
      this.finishIfComplete(round);
      return { accepted: false, reason, message };
    };
    const frame = decodeFrame(body, { maxBytes: model.layout.total * 4 + 1024 });
    if (!frame.ok) {
      // A frame that does not decode was damaged on its way (or cut short): the volunteer may send
      // it again until the deadline, MAX_UPLOAD_RETRIES times. Every failed attempt is counted.
      const failed = round.transportFailures.get(nodeId);
      const attempts = (failed?.attempts ?? 0) + 1;
      round.transportFailures.set(nodeId, { attempts, reason: frame.code, message: frame.message });
      if (attempts > MAX_UPLOAD_RETRIES)
        return reject(frame.code, `${frame.message} (attempt ${attempts}; no retry left)`);
      this.countRejection(jobId, nodeId, frame.code, frame.message);
      const left = MAX_UPLOAD_RETRIES + 1 - attempts;
      return {
        accepted: false,
        reason: frame.code,
        message: `${frame.message}; ${left} ${left === 1 ? 'retry' : 'retries'} left before the deadline`,
      };
    }
    if (frame.header.jobId !== jobId) return reject('WRONG_JOB', `frame is for job ${frame.header.jobId}`);
    if (frame.header.senderId !== nodeId)
      return reject('WRONG_SENDER', 'frame sender is not the invited volunteer');
    const values = frameValues(frame).slice();
    // Length and finite values only: the norm is judged against the round's own uploads when it
    // closes, never against the previous checkpoint's norm, which a poisoned round could have set.
    const check = validateContribution(values, {
      expectedLength: model.layout.total,
      previousNorm: null,
      maxNormRatio: 1,
    });
    if (!check.ok) return reject(check.reason, check.message);
    round.accepted.set(nodeId, { values, norm: check.norm });
    this.finishIfComplete(round);
    return { accepted: true };
  }

  /** Waits for queued evaluations (tests, shutdown). */
  async idle(): Promise<void> {
    await this.evaluations;
  }

  close(): void {
    this.closed = true;
    for (const round of this.rounds.values()) clearTimeout(round.timer);
    this.rounds.clear();
  }

  /** Records a final rejection: in the round (and so the checkpoint's record), and as countRejection does. */
  private rejectUpload(round: Round, nodeId: string, reason: string, message: string): void {
    round.rejected.push({ nodeId, reason, message });
    this.countRejection(round.jobId, nodeId, reason, message);
  }

  /** Counts a refused upload in the metrics, the log and the events. */
  private countRejection(jobId: string, nodeId: string, reason: string, message: string): void {
    this.deps.metrics.validationRejections.inc({ job: jobId, reason: `checkpoint_${reason.toLowerCase()}` });
    this.deps.log.warn({ jobId, nodeId, reason, message }, 'checkpoint upload rejected');
    this.deps.events.add('rejected-update', `checkpoint upload rejected (${reason}): ${message}`, {
      jobId,
      nodeId,
      level: 'warn',
    });
  }

  /**
   * The values a round's uploads are measured from: the newest checkpoint whose file verifies.
   * Zeros if none does (then the uploads' own norms set the scale), which recover() prevents.
   */
  private async reference(jobId: string, length: number): Promise<Float32Array> {
    const { latest } = await loadLatestCheckpoint(this.deps.repo, this.deps.dataDir, jobId);
    if (latest !== null && latest.values.length === length) return latest.values;
    this.deps.log.warn({ jobId }, 'checkpoint round: no readable previous checkpoint, measuring from zero');
    return new Float32Array(length);
  }

  private finishIfComplete(round: Round): void {
    if (round.accepted.size + round.rejected.length >= round.tokens.size) void this.finish(round);
  }

  private async finish(round: Round): Promise<void> {
    // The round stays registered until its file is recorded, so a request meanwhile waits for it
    // (and cannot take the same sequence number).
    if (this.rounds.get(round.jobId) !== round || round.finishing) return;
    round.finishing = true;
    clearTimeout(round.timer);
    try {
      // An earlier checkpoint's evaluation may still be queued: the target test below needs it.
      await this.evaluations.catch(() => undefined);
      const job = this.deps.scheduler.getJob(round.jobId);
      if (!job || this.closed) return;
      const met = this.targetMetBy(job);
      if (met !== undefined) {
        // The job's result is the checkpoint that reached the target: a round still in flight when
        // it did (a later, not necessarily better, model) must not become its latest checkpoint.
        this.deps.log.info(
          { jobId: round.jobId, seq: round.seq, targetMetBy: met.seq },
          'checkpoint round dropped: the job reached its target',
        );
        return;
      }
      recordMissingUploads(round);
      if (round.accepted.size === 0) {
        this.deps.onCheckpoint(round.jobId, { kind: 'failed', seq: round.seq, rejected: round.rejected });
        return;
      }
      const uploads = [...round.accepted];
      const reference = await this.reference(round.jobId, (uploads[0] as [string, Upload])[1].values.length);
      if (this.closed) return;
      // Jobs stored before the option existed have no `aggregation`: the default rule.
      const rule = job.spec.checkpoint.aggregation ?? defaultAggregation();
      const losses = await this.screeningLosses(
        round.jobId,
        rule,
        uploads.map(([, c]) => c.values),
      );
      if (this.closed) return;
      const robust = aggregateRound(
        rule,
        uploads.map(([, c]) => ({ values: c.values, weight: 1 })),
        {
          reference,
          maxRatio: job.spec.checkpoint.maxNormRatio,
          previousStep: this.previousSteps.get(round.jobId) ?? null,
          ...(losses === undefined ? {} : { losses }),
        },
      );
      if (robust.step !== null && rule.rule === 'centered-clipping')
        this.previousSteps.set(round.jobId, robust.step);
      for (const outlier of robust.outliers) {
        const [nodeId] = uploads[outlier.index] as [string, Upload];
        this.rejectUpload(
          round,
          nodeId,
          outlier.kind === 'loss' ? 'LOSS_OUTLIER' : 'OUTLIER',
          outlier.message,
        );
      }
      const clipped = robust.kept.filter((k) => k.clip < 1).length;
      if (clipped > 0)
        this.deps.log.info(
          { jobId: round.jobId, seq: round.seq, clipped, scale: robust.scale },
          'checkpoint round: differences clipped to the round scale',
        );
      await this.persist(job, round.seq, round.shardsDone, robust.values as Float32Array, {
        // weight: the factor the upload's difference from the previous checkpoint counted with
        // (1, or less where it was clipped); the kept uploads are otherwise weighted equally.
        accepted: robust.kept.map((k) => {
          const [nodeId, c] = uploads[k.index] as [string, Upload];
          return { nodeId, norm: c.norm, weight: k.clip };
        }),
        rejected: round.rejected,
      });
      this.deps.metrics.checkpointSeconds.observe(
        { job: round.jobId },
        (this.now() - round.startedAt) / 1000,
      );
    } catch (error) {
      this.deps.log.error({ err: error, jobId: round.jobId }, 'checkpoint failed');
      this.deps.events.add('error', `checkpoint ${round.seq} failed: ${(error as Error).message}`, {
        jobId: round.jobId,
        level: 'error',
      });
    } finally {
      this.rounds.delete(round.jobId);
      this.deps.repo.releaseSeq(round.jobId, round.seq);
      if (this.wanted.delete(round.jobId)) this.request(round.jobId);
    }
  }

  /** Write (atomic), record, then queue the evaluation: the file is durable before anything refers to it. */
  private async persist(
    job: JobRecord,
    seq: number,
    shardsDone: number,
    values: Float32Array,
    contributors: { accepted: CheckpointRecord['contributors']['accepted']; rejected: RejectedContributor[] },
  ): Promise<void> {
    const frame = encodeFp32Frame({ jobId: job.id, senderId: 'coordinator', round: seq, values });
    const written = await writeCheckpointFile(this.deps.dataDir, job.id, seq, frame);
    this.deps.repo.insert({
      jobId: job.id,
      seq,
      round: seq,
      shardsDone,
      createdAt: this.now(),
      file: written.relativePath,
      bytes: written.bytes,
      checksum: written.checksum,
      elementCount: written.elementCount,
      contributors,
      norm: l2Norm(values),
    });
    this.deps.log.info(
      { jobId: job.id, seq, contributors: contributors.accepted.length },
      'checkpoint written',
    );
    this.deps.onCheckpoint(job.id, { kind: 'written', seq });
    this.evaluations = this.evaluations.then(() => this.evaluate(job, seq, values));
  }

  private async evaluate(job: JobRecord, seq: number, values: Float32Array): Promise<void> {
    const model = this.models.get(job.id);
    if (!model || this.closed) return;
    await evaluateCheckpoint(this.deps, this.now, model, job, seq, values);
    this.deps.onCheckpoint(job.id, { kind: 'evaluated', seq, values });
  }

  /** The checkpoint whose evaluation completed a job at its target accuracy, if one did. */
  private targetMetBy(job: JobRecord): CheckpointRecord | undefined {
    const target = job.spec.training.targetAccuracy;
    if (job.status !== 'completed' || target === undefined) return undefined;
    return this.deps.repo.list(job.id).find((c) => c.accuracy !== null && c.accuracy >= target);
  }

  private shapeOf(job: JobRecord): DatasetShape {
    const shape = this.deps.datasetShape(job.spec.dataset);
    if (!shape) throw new ProtocolError('BAD_REQUEST', `dataset ${job.spec.dataset} is missing`);
    return shape;
  }
}
