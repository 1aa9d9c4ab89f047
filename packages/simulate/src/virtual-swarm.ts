/**
 * The virtual volunteers of a simulation: the fleet from @tabswarm/virtual (the tab's trainer and
 * averaging classes in Node worker threads, linked over an in-process network), behind the one
 * interface the fault executor and the observer use.
 */

/** One virtual volunteer as the fleet reports it. */
export interface FleetMember {
  readonly label: string;
  readonly nodeId: string | null;
  readonly alive: boolean;
  readonly phase: string;
  readonly shardsDone: number;
  readonly samplesPerSec: number | null;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

/** The fleet's API (packages/virtual/src/fleet.ts, startVirtualFleet). */
export interface VirtualFleet {
  labels(): readonly string[];
  add(count: number): Promise<readonly string[]>;
  kill(labels: readonly string[]): Promise<void>;
  setOffline(labels: readonly string[], offline: boolean): Promise<void>;
  /** No peer traffic between the two groups, relay included; null heals. */
  partition(groups: readonly [readonly string[], readonly string[]] | null): void;
  setSlowdown(labels: readonly string[], slowdown: number): void;
  snapshot(): readonly FleetMember[];
  parameters(label: string): Promise<Float32Array | null>;
  stop(): Promise<void>;
}

export interface FleetOptions {
  readonly baseUrl: string;
  readonly count: number;
  readonly backend: 'wasm' | 'cpu';
  readonly seed: number;
}

type StartVirtualFleet = (options: FleetOptions) => Promise<VirtualFleet>;

// TODO(fleet): import { startVirtualFleet } from '@tabswarm/virtual' once fleet.ts has landed; until
// then it is looked up at run time so that this package type-checks without it.
const FLEET_MODULE = '../../virtual/src/fleet.ts';

export async function startFleet(options: FleetOptions): Promise<VirtualFleet> {
  let start: StartVirtualFleet | undefined;
  try {
    start = ((await import(FLEET_MODULE)) as { startVirtualFleet?: StartVirtualFleet }).startVirtualFleet;
  } catch (error) {
    throw new Error(`virtual volunteers need packages/virtual/src/fleet.ts: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (start === undefined) throw new Error('packages/virtual/src/fleet.ts has no startVirtualFleet');
  return start(options);
}
