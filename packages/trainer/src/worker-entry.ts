/** The trainer's Web Worker: TensorFlow.js, the model and the GPU live here, off the page's thread. */
import { LocalCompute } from './local-compute.ts';
import { WASM_FILES } from './worker/wasm-files.ts';
import { serveCompute } from './worker-host.ts';
import type { MessageEndpoint } from './worker-protocol.ts';

serveCompute(self as unknown as MessageEndpoint, new LocalCompute({ backend: { wasmPaths: WASM_FILES } }));
