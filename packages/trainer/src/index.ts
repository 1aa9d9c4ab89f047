/**
 * @tabswarm/trainer: the volunteer runtime. A lease loop (VolunteerTrainer) that supervises a
 * compute — TensorFlow.js with a flat parameter vector and the kernel library's optimizer steps —
 * running in a Web Worker on the page (WorkerCompute) or in-process (LocalCompute).
 */
export * from './errors.ts';
export type * from './types.ts';
export { EventQueue } from './event-queue.ts';
export { DUTY_CYCLES, MovingAverage, clampDutyCycle, restAfterStep, sleep } from './pacing.ts';
export {
  CacheStorageShardCache,
  DEFAULT_SHARD_CACHE_BYTES,
  MemoryShardCache,
  type ShardCache,
} from './shard-cache.ts';
export { ShardSource, type LoadedShard, type ShardSourceOptions } from './shard-source.ts';
export { HttpCoordinatorApi, type CoordinatorApi } from './coordinator-api.ts';
export {
  CoordinatorConnection,
  RECONNECT_OPTIONS,
  type CoordinatorCallbacks,
  type CoordinatorOptions,
  type VolunteerSocket,
} from './any/coordinator-connection.ts';
export { VolunteerTrainer, pickJob } from './volunteer-trainer.ts';
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
export { WorkerCompute, createTrainerWorker } from './worker-client.ts';
export type { MessageEndpoint, PageToWorker, WorkerCalls, WorkerToPage } from './worker-protocol.ts';
// In-process compute (TensorFlow.js): what the worker runs, also usable directly (tests, Node).
export { LocalCompute, type LocalComputeOptions } from './local-compute.ts';
export { serveCompute } from './worker-host.ts';
export { LocalTrainer, type ShardTensors, type StepResult } from './local-trainer.ts';
export { FlatModel } from './flat-model.ts';
export { createOptimizer, type FlatOptimizer } from './optimizers.ts';
export { sparseCategoricalCrossentropy, trainingLoss } from './loss.ts';
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
} from './backend.ts';
