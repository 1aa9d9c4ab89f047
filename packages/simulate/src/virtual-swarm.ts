/**
 * The virtual volunteers of a simulation: the fleet from @tabswarm/virtual (the tab's trainer and
 * averaging classes in Node, spread over child processes, linked over an in-process network).
 */
import {
  startVirtualFleet,
  type FleetOptions,
  type VirtualFleet,
  type VirtualNodeSnapshot,
} from '../../virtual/src/fleet.ts';

export type { FleetOptions, VirtualFleet, VirtualNodeSnapshot };

export const startFleet = (options: FleetOptions): Promise<VirtualFleet> => startVirtualFleet(options);

/** Whether a snapshot's volunteer is still part of the swarm (offline ones are, killed ones not). */
export const isAlive = (m: VirtualNodeSnapshot): boolean => m.status !== 'killed' && m.status !== 'stopped';
