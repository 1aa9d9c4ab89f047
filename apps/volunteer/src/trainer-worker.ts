/**
 * The volunteer page's trainer worker: the trainer's compute (TensorFlow.js, the model, the GPU)
 * and, beside it, the model averaging — the gossip mesh over the page's links and the averaging
 * maths on the parameters where they live, with the WGSL kernels on WebGPU and the references on
 * the fallbacks. The page sends the two channels of the averaging in one message after start.
 */
import '@tabswarm/protocol/strict-csp'; // first: see its comment
import * as tf from '@tensorflow/tfjs';
import { AveragingService, averagingKernelsFor } from '@tabswarm/gossip/worker';
import { serveLocalCompute } from '@tabswarm/trainer/worker';
import type { MessageEndpoint } from '@tabswarm/trainer';
import { isAveragingPorts } from './averaging-ports.ts';

const scope = self as unknown as MessageEndpoint;
const compute = serveLocalCompute(scope);
let service: AveragingService | null = null;

scope.addEventListener('message', (event: MessageEvent) => {
  if (service !== null || !isAveragingPorts(event.data)) return;
  service = new AveragingService({
    control: event.data.control,
    links: event.data.links,
    kernels: () => averagingKernelsFor(tf.getBackend()),
    // A direct link not open within this falls back to the coordinator's relay.
    mesh: { dialTimeoutMs: 15_000 },
    parameters: (jobId) => ({
      jobId,
      read: async () => {
        const snapshot = await compute.parameters();
        if (snapshot === null || snapshot.jobId !== jobId)
          throw Object.assign(new Error('the job is gone'), { code: 'NO_JOB' });
        return snapshot.values;
      },
      write: (values) => compute.setParameters({ jobId, values }),
    }),
  });
});
