/**
 * The page side of the trainer's Web Worker: a ComputePort whose calls are messages. The worker's
 * death (an uncaught error, a fatal notice such as a lost GPU device) settles `failed` and fails
 * every pending call, so the lease loop can release its lease and start a new worker.
 */
import type { CheckpointRequest, SelfTestReport } from '@tabswarm/protocol';
import { TrainerError } from '../any/errors.ts';
import type { DownloadProgress } from '../download.ts';
import type * as T from '../any/types.ts';
import {
  transferablesOf,
  type PageToWorker,
  type WorkerCallName,
  type WorkerCalls,
  type WorkerToPage,
} from '../any/worker-protocol.ts';

/** A new trainer worker (Vite bundles worker-entry.ts and its imports as a module worker). */
export function createTrainerWorker(): Worker {
  return new Worker(new URL('../worker/worker-entry.ts', import.meta.url), {
    type: 'module',
    name: 'tabswarm-trainer',
  });
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onStep?: ((progress: T.StepProgress) => void) | undefined;
  onDownload?: ((progress: DownloadProgress) => void) | undefined;
}

export class WorkerCompute implements T.ComputePort {
  readonly failed: Promise<T.ComputeFailure>;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #failure: T.ComputeFailure | null = null;
  #settle: (failure: T.ComputeFailure) => void = () => undefined;

  constructor(worker: Worker = createTrainerWorker()) {
    this.#worker = worker;
    this.failed = new Promise((resolve) => (this.#settle = resolve));
    worker.addEventListener('message', (event: MessageEvent) => this.#onMessage(event.data as WorkerToPage));
    worker.addEventListener('error', (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail('WORKER_CRASHED', `the trainer worker crashed: ${event.message || 'unknown error'}`);
    });
    worker.addEventListener('messageerror', () =>
      this.#fail('WORKER_CRASHED', 'the trainer worker sent a message that could not be read'),
    );
  }

  start(options: T.StartOptions): Promise<T.BackendInfo> {
    return this.#call('start', options);
  }
  selfTest(): Promise<SelfTestReport> {
    return this.#call('selfTest', null);
  }
  loadJob(job: T.JobLoad): Promise<T.JobLoaded> {
    // The caller may keep its vector (e.g. the snapshot restarts start from): send a copy.
    const copy = { ...job, values: job.values.slice() };
    return this.#call('loadJob', copy, transferablesOf(copy));
  }
  loadJobFromCoordinator(
    job: T.JobDownload,
    onProgress?: (progress: DownloadProgress) => void,
  ): Promise<T.JobLoaded> {
    return this.#call('loadJobFromCoordinator', job, [], undefined, onProgress);
  }
  calibrate(steps: number): Promise<T.Calibration> {
    return this.#call('calibrate', steps);
  }
  train(task: T.ShardTask, onStep?: (progress: T.StepProgress) => void): Promise<T.ShardOutcome> {
    return this.#call('train', task, [], onStep);
  }
  cancel(leaseId: string): void {
    this.#post({ kind: 'cancel', leaseId });
  }
  parameters(): Promise<T.ParameterSnapshot | null> {
    return this.#call('parameters', null);
  }
  async setParameters(snapshot: T.ParameterSnapshot): Promise<void> {
    const copy = { jobId: snapshot.jobId, values: snapshot.values.slice() };
    await this.#call('setParameters', copy, transferablesOf(copy));
  }
  saveSnapshot(): Promise<T.SnapshotKept | null> {
    return this.#call('saveSnapshot', null);
  }
  loadJobFromSnapshot(job: T.JobFromSnapshot): Promise<T.JobLoaded | null> {
    return this.#call('loadJobFromSnapshot', job);
  }
  uploadCheckpoint(request: CheckpointRequest, senderId: string): Promise<boolean> {
    return this.#call('uploadCheckpoint', { request, senderId });
  }
  setPaused(paused: boolean): void {
    this.#post({ kind: 'paused', paused });
  }
  setDutyCycle(dutyCycle: number): void {
    this.#post({ kind: 'dutyCycle', dutyCycle });
  }
  stats(): Promise<T.ComputeStats> {
    return this.#call('stats', null);
  }
  simulateFault(kind: T.FaultKind): Promise<boolean> {
    if (kind === 'crash') {
      // The reply may never come: the worker dies right after sending it.
      void this.#call('fault', kind).catch(() => undefined);
      return Promise.resolve(true);
    }
    return this.#call('fault', kind);
  }

  dispose(): void {
    this.#worker.terminate();
    this.#fail('WORKER_CRASHED', 'the trainer worker was stopped');
  }

  #call<K extends WorkerCallName>(
    name: K,
    args: WorkerCalls[K]['args'],
    transfer: Transferable[] = [],
    onStep?: (progress: T.StepProgress) => void,
    onDownload?: (progress: DownloadProgress) => void,
  ): Promise<WorkerCalls[K]['result']> {
    if (this.#failure !== null) {
      return Promise.reject(new TrainerError(this.#failure.code, this.#failure.message));
    }
    const id = this.#nextId++;
    return new Promise<WorkerCalls[K]['result']>((resolve, reject) => {
      const settle = (value: unknown): void => resolve(value as WorkerCalls[K]['result']);
      this.#pending.set(id, { resolve: settle, reject, onStep, onDownload });
      this.#post({ kind: 'call', id, name, args }, transfer);
    });
  }

  #post(message: PageToWorker, transfer: Transferable[] = []): void {
    if (this.#failure === null) this.#worker.postMessage(message, transfer);
  }

  #onMessage(message: WorkerToPage): void {
    switch (message.kind) {
      case 'result': {
        const pending = this.#pending.get(message.id);
        if (pending === undefined) return;
        this.#pending.delete(message.id);
        if (message.ok) pending.resolve(message.value);
        else pending.reject(new TrainerError(message.code, message.message));
        break;
      }
      case 'step':
        this.#pending.get(message.id)?.onStep?.(message.progress);
        break;
      case 'download':
        this.#pending.get(message.id)?.onDownload?.(message.progress);
        break;
      case 'fatal':
        this.#fail(message.code, message.message);
        break;
    }
  }

  #fail(code: T.FatalCode, message: string): void {
    if (this.#failure !== null) return;
    this.#failure = { code, message };
    this.#settle(this.#failure);
    const error = new TrainerError(code, message);
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}
