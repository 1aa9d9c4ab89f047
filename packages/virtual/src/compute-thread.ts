/**
 * A virtual volunteer's compute in its own Node worker thread, as the tab's runs in a Web Worker:
 * the trainer's WorkerCompute on the page side, serveCompute + LocalCompute in the thread, the
 * same message protocol between them. Each thread has its own TensorFlow.js, so its backend
 * (WebAssembly) is independent of the coordinator's or another volunteer's, and threads train in
 * parallel. The thread loads TypeScript through tsx (compute-thread-boot.mjs).
 */
import { Worker } from 'node:worker_threads';
import { WorkerCompute } from '@tabswarm/trainer';
import type { ThreadSettings } from './compute-thread-entry.ts';

type Listener = (event: unknown) => void;

/** The parts of a DOM Worker that WorkerCompute uses, over a worker_threads Worker. */
function domWorker(thread: Worker): globalThis.Worker {
  const adapter = {
    addEventListener(type: string, listener: Listener): void {
      if (type === 'message') thread.on('message', (data: unknown) => listener({ data }));
      else if (type === 'messageerror') thread.on('messageerror', () => listener({}));
      else if (type === 'error') {
        const report = (message: string): void => listener({ message, preventDefault: () => undefined });
        thread.on('error', (error: Error) => report(error.message));
        thread.on('exit', (code) => report(`the compute thread exited (${code})`));
      }
    },
    postMessage(message: unknown, transfer?: Transferable[]): void {
      thread.postMessage(message, (transfer ?? []) as never);
    },
    terminate(): void {
      void thread.terminate();
    },
  };
  return adapter as unknown as globalThis.Worker;
}

/** A new compute thread and the WorkerCompute that drives it. */
export function threadCompute(settings: ThreadSettings): WorkerCompute {
  const thread = new Worker(new URL('./compute-thread-boot.mjs', import.meta.url), { workerData: settings });
  return new WorkerCompute(domWorker(thread));
}
