/**
 * @tabswarm/virtual: virtual volunteers — the tab's own trainer and averaging classes running in
 * Node (TensorFlow.js on WebAssembly or the CPU), for the swarm tests and simulations.
 */
export {
  VirtualVolunteer,
  type AveragingSummary,
  type VirtualBackend,
  type VirtualVolunteerOptions,
} from './virtual-volunteer.ts';
export { threadCompute } from './compute-thread.ts';
export type { ThreadSettings } from './compute-thread-entry.ts';
export { OperatorClient, mnistMlpJob } from './operator-client.ts';
export {
  startVirtualFleet,
  type FleetOptions,
  type VirtualFleet,
  type VirtualNodeSnapshot,
} from './fleet.ts';
export type { VirtualStatus, VirtualVolunteerState } from './virtual-volunteer.ts';
export { shardAccounting, type ShardAccounting } from './shard-accounting.ts';
