/** The trainer's Web Worker: TensorFlow.js, the model and the GPU live here, off the page's thread. */
import '@tabswarm/protocol/strict-csp'; // first: see its comment
import { LocalCompute } from '../any/local-compute.ts';
import { WASM_FILES } from './wasm-files.ts';
import { serveCompute } from './worker-host.ts';
import type { MessageEndpoint } from '../any/worker-protocol.ts';

serveCompute(self as unknown as MessageEndpoint, new LocalCompute({ backend: { wasmPaths: WASM_FILES } }));
