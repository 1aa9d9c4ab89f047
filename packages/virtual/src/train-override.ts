/**
 * What the virtual swarm's adversaries and stragglers share: a compute that is another one but
 * for how it trains a shard. Every other member is delegated by name: a spread would miss the
 * methods of a class instance, which live on its prototype.
 */
import type { ComputePort } from '@tabswarm/trainer';

/** `compute`, training with `train` instead. */
export function withTrain(compute: ComputePort, train: ComputePort['train']): ComputePort {
  return {
    start: (options) => compute.start(options),
    selfTest: () => compute.selfTest(),
    loadJob: (job) => compute.loadJob(job),
    calibrate: (steps) => compute.calibrate(steps),
    train,
    cancel: (leaseId) => compute.cancel(leaseId),
    parameters: () => compute.parameters(),
    setParameters: (snapshot) => compute.setParameters(snapshot),
    setPaused: (paused) => compute.setPaused(paused),
    setDutyCycle: (dutyCycle) => compute.setDutyCycle(dutyCycle),
    stats: () => compute.stats(),
    failed: compute.failed,
    simulateFault: (kind) => compute.simulateFault(kind),
    dispose: () => compute.dispose(),
  };
}
