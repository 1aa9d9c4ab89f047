/**
 * @tabswarm/trainer: the volunteer runtime. A lease loop (VolunteerTrainer) that supervises a
 * compute — TensorFlow.js with a flat parameter vector and the kernel library's optimizer steps —
 * running in a Web Worker on the page (WorkerCompute) or in-process (LocalCompute).
 */
export * from './any/errors.ts';
export type * from './any/types.ts';
export { EventQueue } from './any/event-queue.ts';
export { DUTY_CYCLES, MovingAverage, clampDutyCycle, restAfterStep, sleep } from './any/pacing.ts';
export {
  CacheStorageShardCache,
  DEFAULT_SHARD_CACHE_BYTES,
  MemoryShardCache,
  type ShardCache,
} from './any/shard-cache.ts';
export { ShardSource, type LoadedShard, type ShardSourceOptions } from './any/shard-source.ts';
export { HttpCoordinatorApi, type CoordinatorApi } from './coordinator-api.ts';
export {
  CoordinatorConnection,
  RECONNECT_OPTIONS,
  type CoordinatorCallbacks,
  type CoordinatorOptions,
  type VolunteerSocket,
} from './any/coordinator-connection.ts';
export { VolunteerTrainer } from './any/volunteer-trainer.ts';
export { pickJob } from './any/pick-job.ts';
export type {
  AveragingHook,
  LeaseCoordinator,
  ShardParameters,
  VolunteerTrainerOptions,
} from './any/trainer-ports.ts';
export {
  INITIAL_STATUS,
  TrainerState,
  healthOf,
  type LeaseProgress,
  type TrainerEvent,
  type TrainerPhase,
  type TrainerStatus,
} from './any/trainer-status.ts';
export { ComputeSupervisor, type ComputeSupervisorOptions } from './any/compute-supervisor.ts';
export { CheckpointResponder, type CheckpointResponderOptions } from './any/checkpoint-responder.ts';
export { LeaseReports, type LeaseReportsOptions } from './any/lease-reports.ts';
export { PauseGate } from './any/pause-gate.ts';
export {
  VolunteerRuntime,
  failedSelfTest,
  leasePort,
  type OwnedAveraging,
  type VolunteerRuntimeHooks,
  type VolunteerRuntimeOptions,
} from './any/volunteer-runtime.ts';
export { WorkerCompute, createTrainerWorker } from './page/worker-client.ts';
export type { MessageEndpoint, PageToWorker, WorkerCalls, WorkerToPage } from './any/worker-protocol.ts';
// In-process compute (TensorFlow.js): what the worker runs, also usable directly (tests, Node).
export { LocalCompute, type LocalComputeOptions } from './any/local-compute.ts';
export { serveCompute } from './worker/worker-host.ts';
export { LocalTrainer, type ShardTensors, type StepResult } from './any/local-trainer.ts';
export { FlatModel } from './any/flat-model.ts';
export { createOptimizer, type FlatOptimizer } from './any/optimizers.ts';
export { sparseCategoricalCrossentropy, trainingLoss } from './any/loss.ts';
export {
  BACKEND_ORDER,
  describeAdapter,
  memoryStats,
  probeWebGpu,
  startBackend,
  watchDeviceLoss,
  type BackendChoice,
  type WasmBinaryName,
  type WasmPaths,
} from './any/backend.ts';
