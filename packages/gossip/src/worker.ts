/**
 * @tabswarm/gossip/worker: what the trainer's Web Worker runs — the averaging service over the
 * page's link bridge, and the kernels for its backend.
 */
export { AveragingService, type AveragingServiceOptions } from './any/averaging-service.ts';
export { averagingKernelsFor } from './any/kernel-library.ts';
