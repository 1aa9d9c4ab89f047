/**
 * Supervises the trainer's compute (normally a Web Worker): starts it on demand, races every call
 * against its failure, restarts it with backoff after a lost device or a crash (skipping WebGPU
 * after repeated device losses), and treats a compute that stops making progress as crashed.
 */
import type { CheckpointRequest } from '@tabswarm/protocol';
import { TrainerError, asTrainerError, type TrainerErrorCode } from './errors.ts';
import type { BackendInfo, ComputeStats, ComputePort, ParameterSnapshot, StartOptions } from './types.ts';
import type { PauseGate } from './pause-gate.ts';
import type { Sleep } from './trainer-ports.ts';
import type { TrainerState } from './trainer-status.ts';

/** Errors that end a compute: the loop restarts it. */
export const FATAL_CODES: ReadonlySet<TrainerErrorCode> = new Set(['DEVICE_LOST', 'WORKER_CRASHED']);
/** Two device losses within this window: the next compute skips WebGPU. */
export const DEVICE_LOSS_WINDOW_MS = 5 * 60_000;
const DEFAULT_RESTART_DELAYS_MS = [500, 2_000, 5_000, 15_000, 30_000] as const;
const DEFAULT_STALL_TIMEOUT_MS = 5 * 60_000;

export interface ComputeSupervisorOptions {
  readonly createCompute: () => ComputePort;
  /** What every new compute starts with (the WebGPU opt-out is the supervisor's). */
  readonly startOptions: Omit<StartOptions, 'avoidWebGpu'>;
  readonly state: TrainerState;
  readonly pause: PauseGate;
  /** Aborted when the trainer stops: a compute that finishes starting after it is disposed. */
  readonly stopped: AbortSignal;
  readonly sleep: Sleep;
  readonly restartDelaysMs?: readonly number[];
  readonly stallTimeoutMs?: number;
  /** A new compute started: it holds no job yet. */
  readonly onStarted?: () => void;
}

interface Supervised {
  readonly port: ComputePort;
  /** Rejects with the compute's failure; raced against every call. */
  readonly failed: Promise<never>;
  /** Aborted when the compute fails: idle waits end at once. */
  readonly gone: AbortController;
  failure: TrainerError | null;
}

export class ComputeSupervisor {
  readonly #options: ComputeSupervisorOptions;
  readonly #deviceLosses: number[] = [];
  #compute: Supervised | null = null;
  #starting: Promise<ComputePort> | null = null;
  #consecutiveFailures = 0;
  #avoidWebGpu: string | undefined;

  constructor(options: ComputeSupervisorOptions) {
    this.#options = options;
  }

  /** The running compute, if any. */
  get port(): ComputePort | null {
    return this.#compute?.port ?? null;
  }

  /** Why the running compute failed (the loop restarts it), or null. */
  get failure(): TrainerError | null {
    return this.#compute?.failure ?? null;
  }

  /** Aborted when the running compute fails; undefined without one. */
  get gone(): AbortSignal | undefined {
    return this.#compute?.gone.signal;
  }

  /** Why the next compute skips WebGPU, if it does. */
  get avoidWebGpu(): string | undefined {
    return this.#avoidWebGpu;
  }

  /** The running compute, started (backend event and all) when there is none. */
  ensure(): Promise<ComputePort> {
    if (this.#compute !== null) return Promise.resolve(this.#compute.port);
    this.#starting ??= this.#start().finally(() => {
      this.#starting = null;
    });
    return this.#starting;
  }

  /** Runs a compute call; a compute failure meanwhile rejects it with DEVICE_LOST / WORKER_CRASHED. */
  async use<T>(call: (compute: ComputePort) => Promise<T>): Promise<T> {
    await this.ensure();
    const compute = this.#compute;
    if (compute === null) throw new TrainerError('WORKER_CRASHED', 'the compute is gone');
    return Promise.race([call(compute.port), compute.failed]);
  }

  /** The running compute's parameters, or null (no compute, or it failed meanwhile); starts nothing. */
  async parameters(): Promise<ParameterSnapshot | null> {
    const compute = this.#compute;
    if (compute === null) return null;
    try {
      return await Promise.race([compute.port.parameters(), compute.failed]);
    } catch {
      return null;
    }
  }

  /**
   * Has the running compute upload a checkpoint of its parameters (ComputePort.uploadCheckpoint);
   * false when there is none, it cannot, it holds another job, or it failed meanwhile. Starts
   * nothing; an upload that fails throws.
   */
  async uploadCheckpoint(request: CheckpointRequest, senderId: string): Promise<boolean> {
    const compute = this.#compute;
    if (compute?.port.uploadCheckpoint === undefined) return false;
    return Promise.race([compute.port.uploadCheckpoint(request, senderId), compute.failed.then(() => false)]);
  }

  /** The running compute's counters, or null; starts nothing. */
  async stats(): Promise<ComputeStats | null> {
    const compute = this.#compute;
    if (compute === null) return null;
    try {
      return await Promise.race([compute.port.stats(), compute.failed]);
    } catch {
      return null; // the compute is going away; the loop deals with that
    }
  }

  /** A shard went through: the restart backoff starts over. */
  succeeded(): void {
    this.#consecutiveFailures = 0;
  }

  /** Disposes the failed compute and waits out the backoff; the next ensure() starts a new one. */
  async restart(error: TrainerError): Promise<void> {
    const { state } = this.#options;
    const restarts = state.status.restarts + 1;
    this.#consecutiveFailures++;
    state.set({ phase: 'restarting', restarts, lastError: `${error.code}: ${error.message}` });
    state.emit({ type: 'restart', code: error.code, message: error.message, restarts });
    const old = this.#compute;
    this.#compute = null;
    old?.port.dispose();
    if (error.code === 'DEVICE_LOST') {
      const now = Date.now();
      this.#deviceLosses.push(now);
      const recent = this.#deviceLosses.filter((t) => now - t < DEVICE_LOSS_WINDOW_MS);
      if (recent.length >= 2)
        this.#avoidWebGpu = `the GPU device was lost ${recent.length} times in 5 minutes`;
    }
    const delays = this.#options.restartDelaysMs ?? DEFAULT_RESTART_DELAYS_MS;
    const delay = delays[Math.min(this.#consecutiveFailures - 1, delays.length - 1)] ?? 1_000;
    await this.#options.sleep(delay, this.#options.stopped);
  }

  /**
   * Runs `call` under a watchdog: a compute that reports no progress (`progress.progressAt`, which
   * the caller moves on every step) for the stall timeout, while not paused, counts as crashed: it
   * is disposed, which fails the call, and the loop starts a new one.
   */
  async watch<T>(progress: { progressAt: number }, call: () => Promise<T>): Promise<T> {
    const limit = this.#options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    const compute = this.#compute;
    progress.progressAt = Date.now();
    const timer = setInterval(
      () => {
        if (this.#options.pause.paused) progress.progressAt = Date.now();
        else if (Date.now() - progress.progressAt > limit && compute !== null && this.#compute === compute) {
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

  dispose(): void {
    this.#compute?.port.dispose();
    this.#compute = null;
  }

  async #start(): Promise<ComputePort> {
    const { state, pause } = this.#options;
    state.set({ phase: state.status.restarts > 0 ? 'restarting' : 'starting' });
    const port = this.#options.createCompute();
    const failed = port.failed.then((f) => Promise.reject(new TrainerError(f.code, f.message)));
    failed.catch(() => undefined);
    try {
      const backend: BackendInfo = await Promise.race([
        port.start({
          ...this.#options.startOptions,
          ...(this.#avoidWebGpu === undefined ? {} : { avoidWebGpu: this.#avoidWebGpu }),
        }),
        failed,
      ]);
      if (this.#options.stopped.aborted) throw new TrainerError('CANCELLED', 'the volunteer stopped');
      port.setDutyCycle(state.status.dutyCycle);
      port.setPaused(pause.paused);
      const compute: Supervised = { port, failed, gone: new AbortController(), failure: null };
      this.#compute = compute;
      void port.failed.then((f) => {
        compute.failure ??= new TrainerError(f.code, f.message);
        compute.gone.abort();
        pause.wake();
      });
      this.#options.onStarted?.();
      state.set({ backend, phase: 'idle' });
      state.emit({ type: 'backend', backend });
      return port;
    } catch (error) {
      port.dispose();
      throw error;
    }
  }
}
