/**
 * Checkpoint evaluations off the coordinator's event loop: the CPU backend computes a forward
 * pass synchronously, so in the coordinator's own thread every batch holds up leases, heartbeats
 * and the dashboards (about 4 s per window for gpt-mini). A worker thread with its own TensorFlow.js
 * runs them instead; it starts on the first evaluation and again after a crash, which fails only
 * the evaluations it was running.
 */
import { Worker } from 'node:worker_threads';
import type { Topology } from '@tabswarm/core';
import type { Evaluation, EvaluationOptions, TestSet } from './evaluate.ts';

export interface EvaluationRequest {
  readonly id: number;
  readonly topology: Topology;
  readonly values: Float32Array;
  readonly testSet: TestSet;
  readonly options: EvaluationOptions;
}

export type EvaluationReply =
  | { readonly id: number; readonly ok: true; readonly evaluation: Evaluation }
  | { readonly id: number; readonly ok: false; readonly message: string; readonly range: boolean };

/** evaluateParameters' signature: the thread and the in-process function are interchangeable. */
export type Evaluator = (
  topology: Topology,
  values: Float32Array,
  testSet: TestSet,
  options?: EvaluationOptions,
) => Promise<Evaluation>;

interface Pending {
  resolve(evaluation: Evaluation): void;
  reject(error: Error): void;
}

export class EvaluationThread {
  #worker: Worker | null = null;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;

  /** Evaluates in the thread; rejects as evaluateParameters would (RangeError for bad input). */
  readonly evaluate: Evaluator = (topology, values, testSet, options = {}) => {
    if (this.#closed) return Promise.reject(new Error('the evaluation thread is closed'));
    const id = this.#nextId++;
    return new Promise<Evaluation>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const request: EvaluationRequest = { id, topology, values, testSet, options };
      this.#thread().postMessage(request);
    });
  };

  /** Stops the thread; evaluations still running fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = null;
    this.#failAll('the evaluation thread is closed');
    await worker?.terminate();
  }

  #thread(): Worker {
    if (this.#worker !== null) return this.#worker;
    const worker = new Worker(new URL('./evaluation-thread-boot.mjs', import.meta.url));
    // An idle thread must not keep a coordinator that is shutting down alive.
    worker.unref();
    worker.on('message', (reply: EvaluationReply) => {
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) return;
      this.#pending.delete(reply.id);
      if (reply.ok) pending.resolve(reply.evaluation);
      else pending.reject(reply.range ? new RangeError(reply.message) : new Error(reply.message));
    });
    const lost = (why: string): void => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      this.#failAll(why);
    };
    worker.on('error', (error) => lost(`the evaluation thread failed: ${error.message}`));
    worker.on('exit', (code) => lost(`the evaluation thread exited (${code})`));
    this.#worker = worker;
    return worker;
  }

  #failAll(why: string): void {
    const error = new Error(why);
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}
