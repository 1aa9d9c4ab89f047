/** The compute thread of a virtual volunteer (compute-thread.ts): serves a LocalCompute to its parent. */
import { parentPort, workerData } from 'node:worker_threads';
import { LocalCompute, MemoryShardCache, serveCompute, type MessageEndpoint } from '@tabswarm/trainer';

export interface ThreadSettings {
  /** Pin TensorFlow.js's CPU backend instead of WebAssembly. */
  readonly cpu: boolean;
}

if (parentPort !== null) {
  const settings = workerData as ThreadSettings;
  const port = parentPort;
  const endpoint: MessageEndpoint = {
    postMessage: (message, transfer) => port.postMessage(message, (transfer ?? []) as never),
    addEventListener: (_type, listener) =>
      port.on('message', (data: unknown) => listener({ data } as MessageEvent)),
  };
  serveCompute(
    endpoint,
    new LocalCompute({
      cache: new MemoryShardCache(),
      backend: {
        skip: {
          webgl: 'no WebGL in Node',
          ...(settings.cpu ? { wasm: 'this virtual volunteer runs on the CPU backend' } : {}),
        },
      },
    }),
  );
}
