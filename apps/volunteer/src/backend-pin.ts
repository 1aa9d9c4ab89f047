/**
 * `?backend=webgpu|webgl|wasm|cpu` on the volunteer page pins the trainer's TensorFlow.js backend
 * (the simulations' --backend, tests): the worker skips every other one. Without it, or with an
 * unknown name, the trainer picks the best one as always.
 */
import { WorkerCompute, BACKEND_ORDER, type StartOptions, type BackendInfo } from '@tabswarm/trainer';
import type { Backend } from '@tabswarm/protocol';

export function pinnedBackend(search: string): Backend | null {
  const wanted = new URLSearchParams(search).get('backend');
  return BACKEND_ORDER.find((b) => b === wanted) ?? null;
}

/** The trainer's Web Worker, started on the pinned backend only. */
class PinnedWorkerCompute extends WorkerCompute {
  readonly #only: Backend;

  constructor(only: Backend) {
    super();
    this.#only = only;
  }

  override start(options: StartOptions): Promise<BackendInfo> {
    return super.start({ ...options, only: this.#only });
  }
}

/** The page's compute: the trainer's Web Worker, pinned by the page's query when it asks. */
export function createWorkerCompute(search: string): WorkerCompute {
  const only = pinnedBackend(search);
  return only === null ? new WorkerCompute() : new PinnedWorkerCompute(only);
}
