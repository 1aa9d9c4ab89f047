/**
 * @tabswarm/trainer/worker: the trainer's compute served in the Web Worker that runs this (the
 * page's WorkerCompute talks to it). Returns the compute, for what else the worker serves from it
 * (the volunteer page's averaging reads and writes its parameters in place).
 */
import { LocalCompute } from '../any/local-compute.ts';
import type { MessageEndpoint } from '../any/worker-protocol.ts';
import { WASM_FILES } from './wasm-files.ts';
import { serveCompute } from './worker-host.ts';

export function serveLocalCompute(scope: MessageEndpoint): LocalCompute {
  const compute = new LocalCompute({ backend: { wasmPaths: WASM_FILES } });
  serveCompute(scope, compute);
  return compute;
}

export type { LocalCompute } from '../any/local-compute.ts';
