/**
 * The volunteer's training loop: start from the coordinator's latest checkpoint, lease a shard
 * (with the calibrated throughput), train its local steps, report the completion, run the
 * averaging hook, lease again. It supervises its compute (normally a Web Worker): a lost GPU
 * device or a dead worker releases the lease and starts a new compute from the last parameters.
 * Progress is a stream of events (`for await (const e of trainer.events)`), the same for the page,
 * the tests and a simulation.
 */
import {
  encodeFp32Frame,
  type CheckpointRequest,
  type Health,
  type JobInfo,
  type LeaseCompletion,
  type LeaseGrantInfo,
  type LeaseRelease,
  type LeaseRequest,
  type ParamLayout,
  type SelfTestReport,
} from '@tabswarm/protocol';
import type { CoordinatorApi } from './coordinator-api.ts';
import { TrainerError, asTrainerError, errorText, type TrainerErrorCode } from './errors.ts';
import { EventQueue } from './event-queue.ts';
import { clampDutyCycle, sleep as defaultSleep } from './pacing.ts';
import type {
  BackendInfo,
  Calibration,
  ComputePort,
  DatasetShape,
  FaultKind,
  ParameterSnapshot,
  StepProgress,
} from './types.ts';
import { parseCheckpointRequest, parseLeaseCancelled, parseLeaseGrant } from './wire.ts';

/** The control-plane calls the loop makes (socket.io on the page). Throw TrainerErrors. */
export interface LeaseCoordinator {
  /** The raw grant: the trainer validates it. Throws COORDINATOR_UNAVAILABLE when not connected. */
  requestLease(request: LeaseRequest): Promise<{ lease: unknown; retryAfterMs: number }>;
  completeLease(completion: LeaseCompletion): Promise<{ counted: boolean; duplicate: boolean }>;
  releaseLease(release: LeaseRelease): Promise<void>;
}

/** The parameters after a shard, wherever they live (a worker's GPU buffer, usually). */
export interface ShardParameters {
  readonly jobId: string;
  readonly layout: ParamLayout;
  /** A copy of the current flat parameters. */
  read(): Promise<Float32Array>;
  /** Replaces them (e.g. with an average); the optimizer state is kept. */
  write(values: Float32Array): Promise<void>;
}

/** Where model averaging plugs in: called after every completed shard, before the next lease. */
export interface AveragingHook {
  afterShard(
    params: ShardParameters,
    context: { readonly lease: LeaseGrantInfo; readonly shardsDone: number; readonly signal: AbortSignal },
  ): Promise<void>;
}

export type TrainerPhase =
  | 'off'
  | 'starting'
  | 'loading'
  | 'calibrating'
  | 'idle'
  | 'training'
  | 'paused'
  | 'restarting'
  | 'stopped'
  | 'failed';

export interface LeaseProgress {
  readonly leaseId: string;
  readonly jobId: string;
  readonly epoch: number;
  readonly shard: number;
  readonly issuedAt: number;
  readonly deadline: number;
  readonly stepsDone: number;
  readonly steps: number;
}

export interface TrainerStatus {
  readonly phase: TrainerPhase;
  readonly backend: BackendInfo | null;
  readonly job: JobInfo | null;
  readonly dataset: (DatasetShape & { name: string }) | null;
  readonly lease: LeaseProgress | null;
  readonly shardsDone: number;
  readonly samplesDone: number;
  /** Effective throughput (device throughput × duty cycle): what requestLease reports. */
  readonly samplesPerSec: number | null;
  readonly stepTimeMs: number | null;
  readonly lastLoss: number | null;
  readonly calibration: Calibration | null;
  readonly tensors: number;
  readonly gpuBytes: number;
  readonly dutyCycle: number;
  readonly paused: boolean;
  /** Device time spent on training steps, summed. */
  readonly contributedMs: number;
  readonly restarts: number;
  readonly releasedLeases: number;
  readonly cancelledLeases: number;
  readonly checkpointsUploaded: number;
  readonly lastError: string | null;
}

export type TrainerEvent =
  | { readonly type: 'backend'; readonly backend: BackendInfo }
  | { readonly type: 'job'; readonly job: JobInfo; readonly source: 'checkpoint' | 'snapshot' }
  | { readonly type: 'calibrated'; readonly jobId: string; readonly calibration: Calibration }
  | { readonly type: 'lease'; readonly lease: LeaseGrantInfo }
  | { readonly type: 'step'; readonly progress: StepProgress }
  | {
      readonly type: 'shard-done';
      readonly lease: LeaseGrantInfo;
      readonly loss: number;
      readonly samples: number;
      readonly durationMs: number;
      readonly counted: boolean;
      readonly duplicate: boolean;
    }
  | { readonly type: 'shard-released'; readonly lease: LeaseGrantInfo; readonly reason: string }
  | { readonly type: 'shard-cancelled'; readonly lease: LeaseGrantInfo; readonly reason: string }
  | { readonly type: 'no-work'; readonly retryAfterMs: number }
  | {
      readonly type: 'checkpoint';
      readonly jobId: string;
      readonly requestId: string;
      readonly ok: boolean;
      readonly message: string | null;
    }
  | {
      readonly type: 'restart';
      readonly code: TrainerErrorCode;
      readonly message: string;
      readonly restarts: number;
    }
  | { readonly type: 'paused'; readonly paused: boolean }
  | { readonly type: 'error'; readonly code: TrainerErrorCode; readonly message: string }
  | { readonly type: 'stopped' };

export interface VolunteerTrainerOptions {
  /** The coordinator's origin (shard and API URLs are relative to it). */
  readonly baseUrl: string;
  readonly api: CoordinatorApi;
  readonly coordinator: LeaseCoordinator;
  /** A new compute (a new Web Worker on the page); called again after every crash. */
  readonly createCompute: () => ComputePort;
  /** This volunteer's node id once joined: the sender of checkpoint frames. */
  readonly nodeId: () => string | null;
  readonly averaging?: AveragingHook;
  /** Timed steps of the calibration (after one warm-up step). Default 3. */
  readonly calibrationSteps?: number;
  readonly dutyCycle?: number;
  readonly shardCacheBytes?: number;
  /** Waits between restarts of a failing compute, by consecutive failure. */
  readonly restartDelaysMs?: readonly number[];
  /** Waits before each attempt to report a completion. */
  readonly completionDelaysMs?: readonly number[];
  /** A compute that reports no step for this long while training is restarted. Default 5 minutes. */
  readonly stallTimeoutMs?: number;
  /** Wait after a control-plane request failed before the loop tries again. */
  readonly retryMs?: number;
  /** Coordinator time (epoch ms), for lease timestamps. */
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Two device losses within this window: the next compute skips WebGPU. */
const DEVICE_LOSS_WINDOW_MS = 5 * 60_000;
const FATAL_CODES: ReadonlySet<TrainerErrorCode> = new Set(['DEVICE_LOST', 'WORKER_CRASHED']);

interface ActiveLease {
  readonly grant: LeaseGrantInfo;
  readonly issuedAt: number;
  stepsDone: number;
  steps: number;
  /** The coordinator cancelled it: drop it without completing or releasing. */
  cancelled: string | null;
  /** Completed or released: nothing more to tell the coordinator. */
  settled: boolean;
  /** When the compute last reported a step (for the watchdog). */
  progressAt: number;
}

interface LoadedJob {
  readonly info: JobInfo;
  readonly dataset: DatasetShape & { name: string };
  readonly layout: ParamLayout;
}

const INITIAL_STATUS: TrainerStatus = {
  phase: 'off',
  backend: null,
  job: null,
  dataset: null,
  lease: null,
  shardsDone: 0,
  samplesDone: 0,
  samplesPerSec: null,
  stepTimeMs: null,
  lastLoss: null,
  calibration: null,
  tensors: 0,
  gpuBytes: 0,
  dutyCycle: 1,
  paused: false,
  contributedMs: 0,
  restarts: 0,
  releasedLeases: 0,
  cancelledLeases: 0,
  checkpointsUploaded: 0,
  lastError: null,
};

export class VolunteerTrainer {
  readonly #options: VolunteerTrainerOptions;
  readonly #queue = new EventQueue<TrainerEvent>(2000, (e) => e.type === 'step');
  readonly #stop = new AbortController();
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #now: () => number;
  readonly #pausedBy = new Set<string>();
  readonly #calibrations = new Map<string, Calibration>();
  readonly #deviceLosses: number[] = [];
  #status: TrainerStatus;
  #compute: {
    readonly port: ComputePort;
    readonly failed: Promise<never>;
    /** Aborted when the compute fails: idle waits end at once. */
    readonly gone: AbortController;
    failure: TrainerError | null;
  } | null = null;
  #starting: Promise<ComputePort> | null = null;
  #job: LoadedJob | null = null;
  /** The job to restore after a restart, when the new compute has not loaded it yet. */
  #wantedJob: string | null = null;
  #lastParams: ParameterSnapshot | null = null;
  #lease: ActiveLease | null = null;
  #running: Promise<void> | null = null;
  #firstJobTried = false;
  #consecutiveFailures = 0;
  #avoidWebGpu: string | undefined;
  #resumed: (() => void)[] = [];
  #checkpoints: Promise<void> = Promise.resolve();
  /** Throughput measured on shards, at 100 % duty cycle. */
  #deviceSamplesPerSec: number | null = null;

  constructor(options: VolunteerTrainerOptions) {
    this.#options = options;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#now = options.now ?? Date.now;
    this.#status = { ...INITIAL_STATUS, dutyCycle: clampDutyCycle(options.dutyCycle ?? 1) };
  }

  /** The event stream; one consumer. It ends after stop(). */
  get events(): AsyncIterable<TrainerEvent> {
    return this.#queue;
  }

  get status(): TrainerStatus {
    return this.#status;
  }

  get stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  /** Starts the compute and its backend (the page needs the backend before it joins). */
  async start(): Promise<BackendInfo> {
    await this.#ensureCompute();
    return this.#status.backend as BackendInfo;
  }

  /** The kernel self-test, on the compute's backend. */
  async selfTest(): Promise<SelfTestReport> {
    return this.#use((c) => c.selfTest());
  }

  /** Starts the lease loop (once); it runs until stop(). */
  run(): void {
    if (this.#running !== null || this.stopped) return;
    this.#running = this.#loop();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.#stop.abort();
    this.#wake();
    const lease = this.#lease;
    if (lease !== null) {
      this.#compute?.port.cancel(lease.grant.leaseId);
      await this.#release(lease, 'the volunteer stopped');
    }
    const loop = this.#running;
    if (loop !== null) await Promise.race([loop, this.#sleep(5_000)]);
    this.#compute?.port.dispose();
    this.#compute = null;
    this.#set({ phase: 'stopped', lease: null });
    this.#emit({ type: 'stopped' });
    this.#queue.close();
  }

  /** The coordinator's leaseCancelled event (untrusted payload). */
  leaseCancelled(notice: unknown): void {
    const parsed = parseLeaseCancelled(notice);
    const lease = this.#lease;
    if (parsed === null || lease === null || lease.grant.leaseId !== parsed.leaseId) return;
    lease.cancelled = parsed.reason;
    this.#compute?.port.cancel(parsed.leaseId);
  }

  /** The coordinator's checkpointRequest event (untrusted payload): upload the current parameters. */
  checkpointRequested(request: unknown): void {
    const parsed = parseCheckpointRequest(request);
    if (parsed === null) {
      this.#emit({
        type: 'error',
        code: 'COORDINATOR_REFUSED',
        message: 'ignored a malformed checkpoint request',
      });
      return;
    }
    this.#checkpoints = this.#checkpoints.then(() => this.#answerCheckpoint(parsed));
  }

  /** Pauses for one reason (e.g. 'hidden', 'user'); training resumes when no reason is left. */
  setPaused(reason: string, paused: boolean): void {
    const before = this.#pausedBy.size > 0;
    if (paused) this.#pausedBy.add(reason);
    else this.#pausedBy.delete(reason);
    const now = this.#pausedBy.size > 0;
    if (now === before) return;
    this.#compute?.port.setPaused(now);
    this.#set({ paused: now, ...(now ? { phase: 'paused' as const } : {}) });
    if (!now) {
      if (this.#status.phase === 'paused') this.#set({ phase: this.#lease !== null ? 'training' : 'idle' });
      this.#wake();
    }
    this.#emit({ type: 'paused', paused: now });
  }

  setDutyCycle(dutyCycle: number): void {
    const d = clampDutyCycle(dutyCycle);
    this.#compute?.port.setDutyCycle(d);
    this.#set({ dutyCycle: d, samplesPerSec: this.#effectiveSamplesPerSec(d) });
  }

  /** What every heartbeat carries (healthSchema), or null before a backend runs. */
  health(): Health | null {
    const s = this.#status;
    if (s.backend === null) return null;
    const metric = (v: number | null, max: number): number =>
      v === null || !Number.isFinite(v) ? 0 : Math.min(max, Math.max(0, v));
    return {
      backend: s.backend.backend,
      samplesPerSec: metric(s.samplesPerSec, 1e9),
      stepTimeMs: metric(s.stepTimeMs, 1e9),
      tensors: Math.round(metric(s.tensors, 1e9)),
      gpuBytes: metric(s.gpuBytes, 1e12),
      lastLoss: s.lastLoss === null || !Number.isFinite(s.lastLoss) ? null : metric(s.lastLoss, 1e9),
      shardsDone: Math.round(metric(s.shardsDone, 1e9)),
      lease:
        s.lease === null
          ? null
          : {
              leaseId: s.lease.leaseId,
              jobId: s.lease.jobId,
              issuedAt: metric(s.lease.issuedAt, 1e15),
              deadline: metric(s.lease.deadline, 1e15),
              stepsDone: Math.round(metric(s.lease.stepsDone, 1e9)),
              steps: Math.round(metric(s.lease.steps, 1e9)),
            },
      dutyCycle: Math.min(1, Math.max(0, s.dutyCycle)),
    };
  }

  /** Test hook: makes the compute fail as a lost device or a crashed worker would. */
  async simulateFault(kind: FaultKind): Promise<boolean> {
    const compute = this.#compute;
    if (compute === null) return false;
    return compute.port.simulateFault(kind);
  }

  /** Refreshes tensor and memory counters from the compute. */
  async refreshStats(): Promise<void> {
    const compute = this.#compute;
    if (compute === null) return;
    try {
      const stats = await Promise.race([compute.port.stats(), compute.failed]);
      this.#set({ tensors: stats.tensors, gpuBytes: stats.gpuBytes });
    } catch {
      // the compute is going away; the loop deals with that
    }
  }

  // ── the loop ────────────────────────────────────────────────────────────

  async #loop(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        await this.#iteration(signal);
      } catch (error) {
        if (signal.aborted) break;
        const e = asTrainerError(error);
        if (FATAL_CODES.has(e.code)) {
          await this.#restart(e);
        } else if (e.code === 'BACKEND_UNAVAILABLE') {
          this.#set({ phase: 'failed', lastError: e.message });
          this.#emit({ type: 'error', code: e.code, message: e.message });
          return;
        } else {
          // The same error again and again (the coordinator is unreachable) is reported once.
          if (this.#status.lastError !== e.message)
            this.#emit({ type: 'error', code: e.code, message: e.message });
          this.#set({ lastError: e.message });
          await this.#sleep(this.#options.retryMs ?? 1_000, signal);
        }
      }
    }
  }

  async #iteration(signal: AbortSignal): Promise<void> {
    const failure = this.#compute?.failure;
    if (failure) throw failure;
    await this.#whilePaused(signal);
    if (signal.aborted) return;
    await this.#ensureCompute();
    const wanted = this.#wantedJob;
    if (wanted !== null && this.#job?.info.id !== wanted) {
      try {
        await this.#loadJob(wanted);
      } catch (error) {
        const e = asTrainerError(error);
        if (FATAL_CODES.has(e.code)) throw e;
        // Not now: the next lease loads whichever job it is for.
        this.#wantedJob = null;
        this.#emit({ type: 'error', code: e.code, message: `could not reload job ${wanted}: ${e.message}` });
      }
    }
    if (!this.#firstJobTried) {
      this.#firstJobTried = true;
      await this.#prepareFirstJob();
    }
    if (signal.aborted || this.#pausedBy.size > 0) return;
    const reply = await this.#options.coordinator.requestLease(
      this.#status.samplesPerSec === null ? {} : { samplesPerSec: this.#status.samplesPerSec },
    );
    if (this.#status.lastError !== null) this.#set({ lastError: null });
    if (reply.lease === null || reply.lease === undefined) {
      this.#set({ phase: 'idle' });
      this.#emit({ type: 'no-work', retryAfterMs: reply.retryAfterMs });
      void this.refreshStats();
      const gone = this.#compute?.gone.signal;
      await this.#sleep(
        Math.min(60_000, Math.max(100, reply.retryAfterMs)),
        gone === undefined ? signal : AbortSignal.any([signal, gone]),
      );
      return;
    }
    const grant = parseLeaseGrant(reply.lease);
    if (grant === null)
      throw new TrainerError('COORDINATOR_REFUSED', 'the coordinator sent a malformed lease');
    await this.#work(grant, signal);
  }

  /** Before the first lease: load the job the coordinator will most likely hand out, and calibrate on it. */
  async #prepareFirstJob(): Promise<void> {
    if (this.#job !== null) return;
    let jobs: JobInfo[];
    try {
      jobs = await this.#options.api.listJobs();
    } catch (error) {
      this.#emit({ type: 'error', code: asTrainerError(error).code, message: errorText(error) });
      return;
    }
    const next = pickJob(jobs);
    if (next === null) return;
    try {
      await this.#loadJob(next.id);
    } catch (error) {
      const e = asTrainerError(error);
      if (FATAL_CODES.has(e.code)) throw e;
      this.#emit({ type: 'error', code: e.code, message: `could not prepare job ${next.id}: ${e.message}` });
    }
  }

  async #work(grant: LeaseGrantInfo, signal: AbortSignal): Promise<void> {
    const lease: ActiveLease = {
      grant,
      issuedAt: this.#now(),
      stepsDone: 0,
      steps: 0,
      cancelled: null,
      settled: false,
      progressAt: Date.now(),
    };
    this.#lease = lease;
    this.#set({ lease: progressOf(lease) });
    this.#emit({ type: 'lease', lease: grant });
    try {
      if (this.#job?.info.id !== grant.jobId) {
        try {
          await this.#loadJob(grant.jobId);
        } catch (error) {
          const e = asTrainerError(error);
          if (FATAL_CODES.has(e.code)) throw e;
          await this.#release(lease, `could not load job ${grant.jobId}: ${e.message}`);
          return;
        }
      }
      if (signal.aborted) return;
      this.#set({ phase: this.#pausedBy.size > 0 ? 'paused' : 'training' });
      const outcome = await this.#watchdog(lease, () =>
        this.#use((c) => c.train({ lease: grant }, (p) => this.#onStep(lease, p))),
      );
      if (!outcome.ok) {
        if (outcome.code === 'CANCELLED' && lease.cancelled !== null) {
          lease.settled = true;
          this.#set({ cancelledLeases: this.#status.cancelledLeases + 1 });
          this.#emit({ type: 'shard-cancelled', lease: grant, reason: lease.cancelled });
        } else if (!signal.aborted) {
          await this.#release(lease, `${outcome.code}: ${outcome.message}`);
          if (outcome.code === 'INTERNAL') {
            // A GPU error is often the first sign of a lost device: give its notice a moment to arrive.
            const gone = this.#compute?.gone.signal;
            if (gone !== undefined) await this.#sleep(1_000, AbortSignal.any([signal, gone]));
          }
          if (outcome.code === 'DIVERGED' || outcome.code === 'NO_JOB') {
            // The local model is unusable: start over from the coordinator's latest checkpoint.
            this.#lastParams = null;
            await this.#loadJob(grant.jobId);
          }
        }
        return;
      }
      const ack = await this.#complete({
        leaseId: grant.leaseId,
        loss: Math.min(1e9, Math.max(0, outcome.loss)),
        samples: outcome.samples,
        durationMs: Math.min(1e9, Math.max(0, outcome.durationMs)),
      });
      lease.settled = true;
      this.#consecutiveFailures = 0;
      this.#deviceSamplesPerSec = outcome.samplesPerSec;
      this.#set({
        shardsDone: this.#status.shardsDone + 1,
        samplesDone: this.#status.samplesDone + outcome.samples,
        lastLoss: outcome.loss,
        stepTimeMs: outcome.stepTimeMs,
        samplesPerSec: this.#effectiveSamplesPerSec(this.#status.dutyCycle),
      });
      this.#emit({
        type: 'shard-done',
        lease: grant,
        loss: outcome.loss,
        samples: outcome.samples,
        durationMs: outcome.durationMs,
        counted: ack.counted,
        duplicate: ack.duplicate,
      });
      await this.#afterShard(grant, signal);
      await this.refreshStats();
    } catch (error) {
      const e = asTrainerError(error);
      if (!lease.settled && !signal.aborted) await this.#release(lease, `${e.code}: ${e.message}`);
      throw error;
    } finally {
      if (this.#lease === lease) this.#lease = null;
      this.#set({ lease: null, ...(this.#status.phase === 'training' ? { phase: 'idle' as const } : {}) });
    }
  }

  /** The averaging hook, then a snapshot of the parameters (what a restart starts from). */
  async #afterShard(grant: LeaseGrantInfo, signal: AbortSignal): Promise<void> {
    const job = this.#job;
    if (job === null) return;
    const hook = this.#options.averaging;
    if (hook !== undefined) {
      const params: ShardParameters = {
        jobId: job.info.id,
        layout: job.layout,
        read: async () => {
          const snapshot = await this.#use((c) => c.parameters());
          if (snapshot === null || snapshot.jobId !== job.info.id)
            throw new TrainerError('NO_JOB', 'the job is gone');
          return snapshot.values;
        },
        write: (values) => this.#use((c) => c.setParameters({ jobId: job.info.id, values })),
      };
      try {
        await hook.afterShard(params, { lease: grant, shardsDone: this.#status.shardsDone, signal });
      } catch (error) {
        const e = asTrainerError(error);
        if (FATAL_CODES.has(e.code)) throw e;
        this.#emit({ type: 'error', code: e.code, message: `averaging: ${e.message}` });
      }
    }
    const snapshot = await this.#use((c) => c.parameters());
    if (snapshot !== null) this.#lastParams = snapshot;
  }

  /**
   * A compute that stops making progress (a hung GPU, a wedged worker) counts as crashed: it is
   * disposed, which fails the call, and the loop starts a new one.
   */
  async #watchdog<T>(lease: ActiveLease, call: () => Promise<T>): Promise<T> {
    const limit = this.#options.stallTimeoutMs ?? 5 * 60_000;
    const compute = this.#compute;
    lease.progressAt = Date.now();
    const timer = setInterval(
      () => {
        if (this.#pausedBy.size > 0) lease.progressAt = Date.now();
        else if (Date.now() - lease.progressAt > limit && compute !== null && this.#compute === compute) {
          compute.failure ??= new TrainerError(
            'WORKER_CRASHED',
            `no progress in ${Math.round(limit / 1000)} s`,
          );
          compute.port.dispose();
        }
      },
      Math.min(5_000, limit / 4),
    );
    try {
      return await call();
    } catch (error) {
      const failure = compute?.failure;
      throw failure !== null && failure !== undefined && asTrainerError(error).code === 'WORKER_CRASHED'
        ? failure
        : error;
    } finally {
      clearInterval(timer);
    }
  }

  #onStep(lease: ActiveLease, progress: StepProgress): void {
    lease.progressAt = Date.now();
    lease.stepsDone = progress.step;
    lease.steps = progress.steps;
    this.#set({
      lease: this.#lease === lease ? progressOf(lease) : this.#status.lease,
      lastLoss: progress.loss,
      stepTimeMs: progress.stepTimeMs,
      tensors: progress.tensors,
      gpuBytes: progress.gpuBytes,
      contributedMs: this.#status.contributedMs + progress.stepTimeMs,
    });
    this.#emit({ type: 'step', progress });
  }

  // ── jobs and the compute ───────────────────────────────────────────────

  async #loadJob(jobId: string): Promise<void> {
    this.#set({ phase: 'loading' });
    const { api } = this.#options;
    const info = await api.getJob(jobId);
    const dataset = await api.getDataset(info.spec.dataset);
    const snapshot = this.#lastParams?.jobId === jobId ? this.#lastParams : null;
    const values = snapshot?.values ?? (await api.getParameters(jobId)).values;
    if (info.parameterCount !== null && values.length !== info.parameterCount) {
      throw new TrainerError(
        'PARAMETERS_INVALID',
        `job ${jobId} has ${info.parameterCount} parameters, the coordinator sent ${values.length}`,
      );
    }
    const loaded = await this.#use((c) => c.loadJob({ jobId, spec: info.spec, dataset, values }));
    if (loaded.layout.total !== values.length) {
      throw new TrainerError(
        'PARAMETERS_INVALID',
        `the model has ${loaded.layout.total} parameters, not ${values.length}`,
      );
    }
    this.#job = { info, dataset, layout: loaded.layout };
    this.#wantedJob = jobId;
    if (snapshot === null) this.#lastParams = null;
    this.#set({ job: info, dataset });
    this.#emit({ type: 'job', job: info, source: snapshot === null ? 'checkpoint' : 'snapshot' });
    const key = `${jobId}:${this.#status.backend?.backend ?? ''}`;
    let calibration = this.#calibrations.get(key);
    if (calibration === undefined) {
      this.#set({ phase: 'calibrating' });
      calibration = await this.#use((c) => c.calibrate(this.#options.calibrationSteps ?? 3));
      this.#calibrations.set(key, calibration);
      this.#emit({ type: 'calibrated', jobId, calibration });
    }
    this.#deviceSamplesPerSec = calibration.samplesPerSec;
    this.#set({
      phase: 'idle',
      calibration,
      stepTimeMs: calibration.stepTimeMs,
      samplesPerSec: this.#effectiveSamplesPerSec(this.#status.dutyCycle),
    });
    await this.refreshStats();
  }

  #ensureCompute(): Promise<ComputePort> {
    if (this.#compute !== null) return Promise.resolve(this.#compute.port);
    this.#starting ??= (async () => {
      this.#set({ phase: this.#status.restarts > 0 ? 'restarting' : 'starting' });
      const port = this.#options.createCompute();
      const failed = port.failed.then((f) => Promise.reject(new TrainerError(f.code, f.message)));
      failed.catch(() => undefined);
      try {
        const backend = await Promise.race([
          port.start({
            baseUrl: this.#options.baseUrl,
            ...(this.#avoidWebGpu === undefined ? {} : { avoidWebGpu: this.#avoidWebGpu }),
            ...(this.#options.shardCacheBytes === undefined
              ? {}
              : { shardCacheBytes: this.#options.shardCacheBytes }),
          }),
          failed,
        ]);
        if (this.stopped) throw new TrainerError('CANCELLED', 'the volunteer stopped');
        port.setDutyCycle(this.#status.dutyCycle);
        port.setPaused(this.#pausedBy.size > 0);
        const compute = { port, failed, gone: new AbortController(), failure: null as TrainerError | null };
        this.#compute = compute;
        void port.failed.then((f) => {
          compute.failure ??= new TrainerError(f.code, f.message);
          compute.gone.abort();
          this.#wake();
        });
        this.#job = null;
        this.#set({ backend, phase: 'idle' });
        this.#emit({ type: 'backend', backend });
        return port;
      } catch (error) {
        port.dispose();
        throw error;
      } finally {
        this.#starting = null;
      }
    })();
    return this.#starting;
  }

  /** Runs a compute call; a compute failure meanwhile rejects it with DEVICE_LOST / WORKER_CRASHED. */
  async #use<T>(call: (compute: ComputePort) => Promise<T>): Promise<T> {
    await this.#ensureCompute();
    const compute = this.#compute;
    if (compute === null) throw new TrainerError('WORKER_CRASHED', 'the compute is gone');
    return Promise.race([call(compute.port), compute.failed]);
  }

  async #restart(error: TrainerError): Promise<void> {
    const restarts = this.#status.restarts + 1;
    this.#consecutiveFailures++;
    this.#set({ phase: 'restarting', restarts, lastError: `${error.code}: ${error.message}` });
    this.#emit({ type: 'restart', code: error.code, message: error.message, restarts });
    const old = this.#compute;
    this.#compute = null;
    old?.port.dispose();
    if (this.#job !== null) this.#wantedJob = this.#job.info.id;
    this.#job = null;
    if (error.code === 'DEVICE_LOST') {
      const now = Date.now();
      this.#deviceLosses.push(now);
      const recent = this.#deviceLosses.filter((t) => now - t < DEVICE_LOSS_WINDOW_MS);
      if (recent.length >= 2)
        this.#avoidWebGpu = `the GPU device was lost ${recent.length} times in 5 minutes`;
    }
    const delays = this.#options.restartDelaysMs ?? [500, 2_000, 5_000, 15_000, 30_000];
    const delay = delays[Math.min(this.#consecutiveFailures - 1, delays.length - 1)] ?? 1_000;
    await this.#sleep(delay, this.#stop.signal);
  }

  // ── the coordinator ────────────────────────────────────────────────────

  async #complete(completion: LeaseCompletion): Promise<{ counted: boolean; duplicate: boolean }> {
    const delays = this.#options.completionDelaysMs ?? [0, 500, 1_000, 2_000, 4_000, 8_000, 15_000];
    let last: TrainerError = new TrainerError('COORDINATOR_UNAVAILABLE', 'not sent');
    for (const delay of delays) {
      if (delay > 0) await this.#sleep(delay);
      try {
        return await this.#options.coordinator.completeLease(completion);
      } catch (error) {
        last = asTrainerError(error, 'COORDINATOR_UNAVAILABLE');
        // Completions are idempotent: resend while the coordinator is unreachable, not when it said no.
        if (last.code !== 'COORDINATOR_UNAVAILABLE') break;
      }
    }
    this.#emit({
      type: 'error',
      code: last.code,
      message: `lease ${completion.leaseId} not reported: ${last.message}`,
    });
    return { counted: false, duplicate: false };
  }

  async #release(lease: ActiveLease, reason: string): Promise<void> {
    if (lease.settled) return;
    lease.settled = true;
    const detail = reason.slice(0, 500);
    this.#set({ releasedLeases: this.#status.releasedLeases + 1 });
    this.#emit({ type: 'shard-released', lease: lease.grant, reason: detail });
    try {
      await Promise.race([
        this.#options.coordinator.releaseLease({ leaseId: lease.grant.leaseId, reason: detail }),
        this.#sleep(5_000).then(() =>
          Promise.reject(new TrainerError('COORDINATOR_UNAVAILABLE', 'timed out')),
        ),
      ]);
    } catch (error) {
      // The lease expires on its own; a disconnect releases it too.
      this.#emit({
        type: 'error',
        code: asTrainerError(error).code,
        message: `release: ${errorText(error)}`,
      });
    }
  }

  async #answerCheckpoint(request: CheckpointRequest): Promise<void> {
    const report = (ok: boolean, message: string | null): void => {
      if (ok) this.#set({ checkpointsUploaded: this.#status.checkpointsUploaded + 1 });
      this.#emit({ type: 'checkpoint', jobId: request.jobId, requestId: request.requestId, ok, message });
    };
    const nodeId = this.#options.nodeId();
    if (nodeId === null) return report(false, 'not joined');
    let snapshot: ParameterSnapshot | null = null;
    const compute = this.#compute;
    if (compute !== null) {
      try {
        snapshot = await Promise.race([compute.port.parameters(), compute.failed]);
      } catch {
        snapshot = null;
      }
    }
    if (snapshot?.jobId !== request.jobId)
      snapshot = this.#lastParams?.jobId === request.jobId ? this.#lastParams : null;
    if (snapshot === null) return report(false, `this volunteer holds no parameters of job ${request.jobId}`);
    try {
      const frame = encodeFp32Frame({
        jobId: request.jobId,
        senderId: nodeId,
        round: 0,
        values: snapshot.values,
      });
      await this.#options.api.uploadCheckpoint(request, frame);
      report(true, null);
    } catch (error) {
      report(false, errorText(error));
    }
  }

  // ── small things ───────────────────────────────────────────────────────

  #effectiveSamplesPerSec(dutyCycle: number): number | null {
    const device = this.#deviceSamplesPerSec;
    return device === null ? null : device * dutyCycle;
  }

  async #whilePaused(signal: AbortSignal): Promise<void> {
    while (this.#pausedBy.size > 0 && !signal.aborted) {
      this.#set({ phase: 'paused' });
      await new Promise<void>((resolve) => this.#resumed.push(resolve));
    }
  }

  #wake(): void {
    const waiting = this.#resumed;
    this.#resumed = [];
    for (const resolve of waiting) resolve();
  }

  #set(patch: Partial<TrainerStatus>): void {
    this.#status = { ...this.#status, ...patch };
  }

  #emit(event: TrainerEvent): void {
    this.#queue.push(event);
  }
}

function progressOf(lease: ActiveLease): LeaseProgress {
  return {
    leaseId: lease.grant.leaseId,
    jobId: lease.grant.jobId,
    epoch: lease.grant.epoch,
    shard: lease.grant.shard,
    issuedAt: lease.issuedAt,
    deadline: lease.grant.deadline,
    stepsDone: lease.stepsDone,
    steps: lease.steps,
  };
}

/**
 * The job a volunteer will most likely be given: a running (else queued) job of the highest
 * priority, oldest first, as the coordinator's fair share favours it when nobody works on it yet.
 */
export function pickJob(jobs: readonly JobInfo[]): JobInfo | null {
  const open = jobs.filter((j) => j.status === 'running' || j.status === 'queued');
  open.sort(
    (a, b) =>
      (a.status === 'running' ? 0 : 1) - (b.status === 'running' ? 0 : 1) ||
      b.spec.priority - a.spec.priority ||
      a.createdAt - b.createdAt,
  );
  return open[0] ?? null;
}
