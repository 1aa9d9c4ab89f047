/** The simulation harness's public surface: what `npm run simulate` and the e2e scenarios share. */
export type * from './record.ts';
export type * from './plan.ts';
export { runSimulation, type ProgressInfo, type SimulationHooks } from './run-simulation.ts';
export {
  startCoordinatorProcess,
  externalCoordinator,
  type CoordinatorProcess,
  type CoordinatorProcessOptions,
} from './coordinator-process.ts';
export { JOB_PRESETS, jobProgress, submitJob } from './job.ts';
export { BrowserSwarm, type BrowserObservation, type BrowserVolunteer } from './browser-swarm.ts';
export { startFleet, type VirtualFleet, type VirtualNodeSnapshot } from './virtual-swarm.ts';
export { Swarm } from './swarm.ts';
export { FaultExecutor } from './fault-executor.ts';
export { Observer } from './observer.ts';
export { RecordBuilder } from './record-builder.ts';
