/**
 * The volunteer page's compute: the trainer's Web Worker (trainer-worker.ts) with the model
 * averaging beside the model, its two channels handed to the page's AveragingClient.
 *
 * `?backend=webgpu|webgl|wasm|cpu` on the volunteer page pins the trainer's TensorFlow.js backend
 * (the simulations' --backend, tests): the worker skips every other one. Without it, or with an
 * unknown name, the trainer picks the best one as always.
 */
import { WorkerCompute, BACKEND_ORDER, type StartOptions, type BackendInfo } from '@tabswarm/trainer';
import type { AveragingClient } from '@tabswarm/gossip';
import type { Backend } from '@tabswarm/protocol';
import type { AveragingPorts } from './averaging-ports.ts';

export function pinnedBackend(search: string): Backend | null {
  const wanted = new URLSearchParams(search).get('backend');
  return BACKEND_ORDER.find((b) => b === wanted) ?? null;
}

/** The trainer's Web Worker, started on the pinned backend only (or the best one: null). */
class PageWorkerCompute extends WorkerCompute {
  readonly #only: Backend | null;

  constructor(worker: Worker, only: Backend | null) {
    super(worker);
    this.#only = only;
  }

  override start(options: StartOptions): Promise<BackendInfo> {
    return super.start(this.#only === null ? options : { ...options, only: this.#only });
  }
}

/** A new trainer worker, pinned by the page's query when it asks, its averaging attached to `averaging`. */
export function createWorkerCompute(search: string, averaging: AveragingClient): WorkerCompute {
  const worker = new Worker(new URL('./trainer-worker.ts', import.meta.url), {
    type: 'module',
    name: 'tabswarm-trainer',
  });
  const control = new MessageChannel();
  const links = new MessageChannel();
  const ports: AveragingPorts = { kind: 'averaging-ports', control: control.port2, links: links.port2 };
  worker.postMessage(ports, [control.port2, links.port2]);
  averaging.attachWorker(control.port1, links.port1);
  const compute = new PageWorkerCompute(worker, pinnedBackend(search));
  void compute.failed.then(() => averaging.workerGone(control.port1));
  return compute;
}
