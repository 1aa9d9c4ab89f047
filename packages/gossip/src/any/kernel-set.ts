/** The averaging kernels a worker chose for its backend, and how to tell what they ran. */
import type { GossipKernels } from './kernels.ts';

export interface AveragingKernelSet {
  readonly kernels: GossipKernels;
  /** 'wgsl' on TensorFlow.js's WebGPU backend, 'reference' (TypeScript) on the fallbacks. */
  readonly implementation: 'wgsl' | 'reference';
  /** GPU dispatches of each WGSL kernel so far, by shader name (none on the references). */
  readonly dispatches: () => Record<string, number>;
}
