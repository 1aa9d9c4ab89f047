/**
 * The volunteer's lease loop: start from the coordinator's latest checkpoint, lease a shard (with
 * the calibrated throughput), train its local steps, report the completion, run the averaging
 * hook, lease again. Its helpers do the rest: the compute supervisor (restarts after a lost device
 * or a dead worker), the lease reports (retries), the checkpoint responder, and the status and
 * event stream (`for await (const e of trainer.events)`), the same for the page, tests and Node.
 */
import {
  parseLeaseCancelled,
  parseLeaseGrant,
  type Health,
  type JobInfo,
  type LeaseGrantInfo,
  type SelfTestReport,
} from '@tabswarm/protocol';
import { CheckpointResponder } from './checkpoint-responder.ts';
import { ComputeSupervisor, FATAL_CODES } from './compute-supervisor.ts';
import { LeaseReports } from './lease-reports.ts';
import { PauseGate } from './pause-gate.ts';
import { CacheStorageSnapshotStore, newSnapshotOwner } from './snapshot-store.ts';
import { pickJob } from './pick-job.ts';
import { TrainerJob } from './trainer-job.ts';
import type { Sleep, VolunteerTrainerOptions } from './trainer-ports.ts';
import {
  TrainerState,
  healthOf,
  progressOf,
  type ActiveLease,
  type TrainerEvent,
  type TrainerStatus,
} from './trainer-status.ts';
import { TrainerError, asTrainerError, errorText, type TrainerErrorCode } from './errors.ts';
import { clampDutyCycle, sleep as defaultSleep } from './pacing.ts';
import type { BackendInfo, FaultKind, ShardTask, StepProgress } from './types.ts';

/**
 * Failures that every lease of the job would meet on this volunteer (not a network, coordinator
 * or device hiccup): the lease goes back with cannotRun, and the coordinator offers the job to
 * others only.
 */
const JOB_FAILURES_FOR_GOOD: ReadonlySet<TrainerErrorCode> = new Set([
  'UNSUPPORTED_BY_BACKEND',
  'MODEL_INVALID',
]);

export class VolunteerTrainer {
  readonly #options: VolunteerTrainerOptions;
  readonly #state: TrainerState;
  readonly #stop = new AbortController();
  readonly #sleep: Sleep;
  readonly #now: () => number;
  readonly #pause = new PauseGate();
  readonly #compute: ComputeSupervisor;
  readonly #reports: LeaseReports;
  readonly #checkpoints: CheckpointResponder;
  /** The loaded job, its snapshot and calibrations (trainer-job.ts). */
  readonly #jobs: TrainerJob;
  #lease: ActiveLease | null = null;
  #running: Promise<void> | null = null;
  #firstJobTried = false;
  readonly #snapshotOwner = newSnapshotOwner();
  /** Throughput measured on shards, at 100 % duty cycle. */
  #deviceSamplesPerSec: number | null = null;

  constructor(options: VolunteerTrainerOptions) {
    this.#options = options;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#now = options.now ?? Date.now;
    this.#state = new TrainerState({ dutyCycle: clampDutyCycle(options.dutyCycle ?? 1) });
    this.#compute = new ComputeSupervisor({
      createCompute: options.createCompute,
      startOptions: {
        baseUrl: options.baseUrl,
        ...(options.shardCacheBytes === undefined ? {} : { shardCacheBytes: options.shardCacheBytes }),
        // Every compute of this trainer keeps its restart snapshot under this key (snapshot-store.ts).
        snapshotOwner: this.#snapshotOwner,
      },
      state: this.#state,
      pause: this.#pause,
      stopped: this.#stop.signal,
      sleep: this.#sleep,
      ...(options.restartDelaysMs === undefined ? {} : { restartDelaysMs: options.restartDelaysMs }),
      ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
      onStarted: () => {
        this.#jobs.current = null;
      },
    });
    this.#reports = new LeaseReports({
      coordinator: options.coordinator,
      state: this.#state,
      sleep: this.#sleep,
      ...(options.completionDelaysMs === undefined ? {} : { completionDelaysMs: options.completionDelaysMs }),
    });
    this.#jobs = new TrainerJob({
      api: options.api,
      compute: this.#compute,
      state: this.#state,
      averaging: options.averaging,
      calibrationSteps: options.calibrationSteps,
      parametersInCompute: options.parametersInCompute === true,
    });
    this.#checkpoints = new CheckpointResponder({
      api: options.api,
      nodeId: options.nodeId,
      state: this.#state,
      current: () => this.#compute.parameters(),
      last: () => this.#jobs.lastValues(),
      ...(options.parametersInCompute === true && {
        fromCompute: (request, senderId) => this.#compute.uploadCheckpoint(request, senderId),
      }),
    });
  }

  /** The event stream; one consumer. It ends after stop(). */
  get events(): AsyncIterable<TrainerEvent> {
    return this.#state.events;
  }

  get status(): TrainerStatus {
    return this.#state.status;
  }

  get stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  /**
   * The leases this volunteer holds, for its heartbeats: the current one from its grant until it
   * is completed, given back or cancelled (the coordinator takes back any lease left out).
   */
  get heldLeaseIds(): string[] {
    const lease = this.#lease;
    return lease === null || lease.settled ? [] : [lease.grant.leaseId];
  }

  /** Starts the compute and its backend (the page needs the backend before it joins). */
  async start(): Promise<BackendInfo> {
    await this.#compute.ensure();
    return this.status.backend as BackendInfo;
  }

  /** The kernel self-test, on the compute's backend. */
  async selfTest(): Promise<SelfTestReport> {
    return this.#compute.use((c) => c.selfTest());
  }

  /** Starts the lease loop (once); it runs until stop(). */
  run(): void {
    if (this.#running !== null || this.stopped) return;
    this.#running = this.#loop();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.#stop.abort();
    this.#pause.wake();
    const lease = this.#lease;
    if (lease !== null) {
      this.#compute.port?.cancel(lease.grant.leaseId);
      await this.#reports.release(lease, 'the volunteer stopped');
    }
    const loop = this.#running;
    if (loop !== null) await Promise.race([loop, this.#sleep(5_000)]);
    this.#compute.dispose();
    // No compute of this trainer will restart: its kept snapshot goes (a page's Cache Storage).
    if (this.#options.parametersInCompute === true && CacheStorageSnapshotStore.available())
      await new CacheStorageSnapshotStore(this.#snapshotOwner).clear().catch(() => undefined);
    this.#set({ phase: 'stopped', lease: null });
    this.#emit({ type: 'stopped' });
    this.#state.close();
  }

  /** The coordinator's leaseCancelled event (untrusted payload). */
  leaseCancelled(notice: unknown): void {
    const parsed = parseLeaseCancelled(notice);
    const lease = this.#lease;
    if (parsed === null || lease === null || lease.grant.leaseId !== parsed.leaseId) return;
    lease.cancelled = parsed.reason;
    this.#compute.port?.cancel(parsed.leaseId);
  }

  /** The coordinator's checkpointRequest event (untrusted payload): upload the current parameters. */
  checkpointRequested(request: unknown): void {
    void this.#checkpoints.requested(request);
  }

  /** Pauses for one reason (e.g. 'hidden', 'user'); training resumes when no reason is left. */
  setPaused(reason: string, paused: boolean): void {
    if (!this.#pause.set(reason, paused)) return;
    const now = this.#pause.paused;
    this.#compute.port?.setPaused(now);
    this.#set({ paused: now, ...(now ? { phase: 'paused' as const } : {}) });
    if (!now && this.status.phase === 'paused')
      this.#set({ phase: this.#lease !== null ? 'training' : 'idle' });
    this.#emit({ type: 'paused', paused: now });
  }

  setDutyCycle(dutyCycle: number): void {
    const d = clampDutyCycle(dutyCycle);
    this.#compute.port?.setDutyCycle(d);
    this.#set({ dutyCycle: d, samplesPerSec: this.#effectiveSamplesPerSec(d) });
  }

  /** What every heartbeat carries (healthSchema), or null before a backend runs. */
  health(): Health | null {
    return healthOf(this.status);
  }

  /** Test hook: makes the compute fail as a lost device or a crashed worker would. */
  async simulateFault(kind: FaultKind): Promise<boolean> {
    const port = this.#compute.port;
    return port === null ? false : port.simulateFault(kind);
  }

  /** Refreshes tensor and memory counters from the compute. */
  async refreshStats(): Promise<void> {
    const stats = await this.#compute.stats();
    if (stats !== null) this.#set({ tensors: stats.tensors, gpuBytes: stats.gpuBytes });
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
          if (this.#jobs.current !== null) this.#jobs.wanted = this.#jobs.current.info.id;
          this.#jobs.current = null;
          await this.#compute.restart(e);
        } else if (e.code === 'BACKEND_UNAVAILABLE') {
          this.#set({ phase: 'failed', lastError: e.message });
          this.#emit({ type: 'error', code: e.code, message: e.message });
          return;
        } else {
          // The same error again and again (the coordinator is unreachable) is reported once.
          if (this.status.lastError !== e.message)
            this.#emit({ type: 'error', code: e.code, message: e.message });
          this.#set({ lastError: e.message });
          await this.#sleep(this.#options.retryMs ?? 1_000, signal);
        }
      }
    }
  }

  async #iteration(signal: AbortSignal): Promise<void> {
    const failure = this.#compute.failure;
    if (failure) throw failure;
    await this.#whilePaused(signal);
    if (signal.aborted) return;
    await this.#compute.ensure();
    const wanted = this.#jobs.wanted;
    if (wanted !== null && this.#jobs.current?.info.id !== wanted) {
      try {
        await this.#loadJob(wanted);
      } catch (error) {
        const e = asTrainerError(error);
        if (FATAL_CODES.has(e.code)) throw e;
        // Not now: the next lease loads whichever job it is for.
        this.#jobs.wanted = null;
        this.#emit({ type: 'error', code: e.code, message: `could not reload job ${wanted}: ${e.message}` });
      }
    }
    if (!this.#firstJobTried) {
      this.#firstJobTried = true;
      await this.#prepareFirstJob();
    }
    if (signal.aborted || this.#pause.paused) return;
    const reply = await this.#options.coordinator.requestLease(
      this.status.samplesPerSec === null ? {} : { samplesPerSec: this.status.samplesPerSec },
    );
    if (this.status.lastError !== null) this.#set({ lastError: null });
    if (reply.lease === null || reply.lease === undefined) {
      this.#set({ phase: 'idle' });
      this.#emit({ type: 'no-work', retryAfterMs: reply.retryAfterMs });
      void this.refreshStats();
      const gone = this.#compute.gone;
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
    if (this.#jobs.current !== null) return;
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
      if (this.#jobs.current?.info.id !== grant.jobId) {
        try {
          await this.#loadJob(grant.jobId);
        } catch (error) {
          const e = asTrainerError(error);
          if (FATAL_CODES.has(e.code)) throw e;
          // A job whose model cannot be built or trained here (a kernel this backend lacks) fails
          // the same way on every lease: the coordinator is told, instead of re-offering it for good.
          await this.#reports.release(
            lease,
            `could not load job ${grant.jobId} on ${this.status.backend?.backend ?? 'this backend'}: ${e.message}`,
            JOB_FAILURES_FOR_GOOD.has(e.code) || e.code === 'PARAMETERS_INVALID',
          );
          return;
        }
      }
      if (signal.aborted) return;
      // A replicated lease starts from the checkpoint it names (validated work: replica-run.ts),
      // downloaded by the compute where it runs (parametersInCompute), else here.
      let replica: ShardTask['replica'];
      if (grant.replica !== undefined && this.#options.parametersInCompute === true) {
        replica = { checkpoint: grant.replica.checkpoint, seed: grant.replica.seed };
      } else if (grant.replica !== undefined) {
        try {
          replica = {
            values: await this.#options.api.getCheckpoint(grant.jobId, grant.replica.checkpoint),
            seed: grant.replica.seed,
          };
        } catch (error) {
          const e = asTrainerError(error);
          await this.#reports.release(
            lease,
            `could not load checkpoint ${grant.replica.checkpoint}: ${e.message}`,
          );
          return;
        }
      }
      this.#set({ phase: this.#pause.paused ? 'paused' : 'training' });
      const task = replica === undefined ? { lease: grant } : { lease: grant, replica };
      const outcome = await this.#compute.watch(lease, () =>
        this.#compute.use((c) => c.train(task, (p) => this.#onStep(lease, p))),
      );
      if (!outcome.ok) {
        if (outcome.code === 'CANCELLED' && lease.cancelled !== null) {
          lease.settled = true;
          this.#set({ cancelledLeases: this.status.cancelledLeases + 1 });
          this.#emit({ type: 'shard-cancelled', lease: grant, reason: lease.cancelled });
        } else if (!signal.aborted) {
          await this.#reports.release(
            lease,
            `${outcome.code}: ${outcome.message}`,
            JOB_FAILURES_FOR_GOOD.has(outcome.code),
          );
          if (outcome.code === 'INTERNAL') {
            // A GPU error is often the first sign of a lost device: give its notice a moment to arrive.
            const gone = this.#compute.gone;
            if (gone !== undefined) await this.#sleep(1_000, AbortSignal.any([signal, gone]));
          }
          if (outcome.code === 'DIVERGED' || outcome.code === 'NO_JOB') {
            // The local model is unusable: start over from the coordinator's latest checkpoint.
            this.#jobs.forgetSnapshot();
            await this.#loadJob(grant.jobId);
          }
        }
        return;
      }
      const ack = await this.#reports.complete({
        leaseId: grant.leaseId,
        loss: Math.min(1e9, Math.max(0, outcome.loss)),
        samples: outcome.samples,
        durationMs: Math.min(1e9, Math.max(0, outcome.durationMs)),
        ...(outcome.update === undefined
          ? {}
          : { update: { norm: outcome.update.norm, projections: [...outcome.update.projections] } }),
      });
      lease.settled = true;
      this.#compute.succeeded();
      this.#deviceSamplesPerSec = outcome.samplesPerSec;
      this.#set({
        shardsDone: this.status.shardsDone + 1,
        samplesDone: this.status.samplesDone + outcome.samples,
        lastLoss: outcome.loss,
        stepTimeMs: outcome.stepTimeMs,
        samplesPerSec: this.#effectiveSamplesPerSec(this.status.dutyCycle),
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
      await this.#jobs.afterShard(grant, signal);
      await this.refreshStats();
    } catch (error) {
      const e = asTrainerError(error);
      if (!lease.settled && !signal.aborted) await this.#reports.release(lease, `${e.code}: ${e.message}`);
      throw error;
    } finally {
      if (this.#lease === lease) this.#lease = null;
      this.#set({ lease: null, ...(this.status.phase === 'training' ? { phase: 'idle' as const } : {}) });
    }
  }

  #onStep(lease: ActiveLease, progress: StepProgress): void {
    lease.progressAt = Date.now();
    lease.stepsDone = progress.step;
    lease.steps = progress.steps;
    this.#set({
      lease: this.#lease === lease ? progressOf(lease) : this.status.lease,
      lastLoss: progress.loss,
      stepTimeMs: progress.stepTimeMs,
      tensors: progress.tensors,
      gpuBytes: progress.gpuBytes,
      contributedMs: this.status.contributedMs + progress.stepTimeMs,
    });
    this.#emit({ type: 'step', progress });
  }

  // ── jobs ────────────────────────────────────────────────────────────────

  /** Loads the job; until a shard measures it, the throughput leases ask with is the calibration's. */
  async #loadJob(jobId: string): Promise<void> {
    const calibration = await this.#jobs.load(jobId);
    this.#deviceSamplesPerSec = calibration.samplesPerSec;
    this.#set({
      phase: 'idle',
      calibration,
      stepTimeMs: calibration.stepTimeMs,
      samplesPerSec: this.#effectiveSamplesPerSec(this.status.dutyCycle),
    });
    await this.refreshStats();
  }

  // ── small things ───────────────────────────────────────────────────────

  #effectiveSamplesPerSec(dutyCycle: number): number | null {
    const device = this.#deviceSamplesPerSec;
    return device === null ? null : device * dutyCycle;
  }

  async #whilePaused(signal: AbortSignal): Promise<void> {
    while (this.#pause.paused && !signal.aborted) {
      this.#set({ phase: 'paused' });
      await this.#pause.next();
    }
  }

  #set(patch: Partial<TrainerStatus>): void {
    this.#state.set(patch);
  }

  #emit(event: TrainerEvent): void {
    this.#state.emit(event);
  }
}
