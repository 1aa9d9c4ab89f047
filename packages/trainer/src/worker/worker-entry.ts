/** The trainer's Web Worker: TensorFlow.js, the model and the GPU live here, off the page's thread. */
import '@tabswarm/protocol/strict-csp'; // first: see its comment
import type { MessageEndpoint } from '../any/worker-protocol.ts';
import { serveLocalCompute } from './serve-local.ts';

serveLocalCompute(self as unknown as MessageEndpoint);
