/**
 * The messages between a fleet (fleet.ts, in the caller's process) and each of its host processes
 * (fleet-host.ts): one request per call, answered by id. Child processes talk over Node's IPC
 * channel with structured-clone serialisation, so parameters travel as Float32Arrays.
 */
import type { ExchangeResult } from '@tabswarm/gossip';
import type { VirtualBackend, VirtualVolunteerState } from './virtual-volunteer.ts';

export interface HostSettings {
  readonly baseUrl: string;
  readonly backend: VirtualBackend;
  readonly averaging: boolean;
}

export type HostCommand =
  | { readonly op: 'add'; readonly labels: readonly string[] }
  | { readonly op: 'kill'; readonly labels: readonly string[] }
  | { readonly op: 'offline'; readonly labels: readonly string[]; readonly offline: boolean }
  | { readonly op: 'block'; readonly labels: readonly string[]; readonly nodeIds: readonly string[] }
  | { readonly op: 'unblock'; readonly labels: readonly string[] }
  | { readonly op: 'slowdown'; readonly labels: readonly string[]; readonly factor: number }
  | { readonly op: 'snapshot' }
  | { readonly op: 'parameters'; readonly label: string }
  | { readonly op: 'averaging'; readonly label: string }
  | { readonly op: 'averageIdle'; readonly label: string }
  | { readonly op: 'stop' };

export interface HostRequest {
  readonly id: number;
  readonly command: HostCommand;
}

export interface HostVolunteerState extends VirtualVolunteerState {
  readonly label: string;
  readonly nodeId: string | null;
}

/** A host reports at most this many of a volunteer's latest exchanges (a bounded IPC message). */
export const MAX_REPORTED_EXCHANGES = 1_000;

/** One exchange of a volunteer's gossip averager, as a fleet reports it. */
export type HostExchange = Pick<ExchangeResult, 'partner' | 'role' | 'round' | 'outcome' | 'distance'>;

/** A volunteer's gossip averager: its round counter, its model, and its latest exchanges. */
export interface HostAveraging {
  readonly jobId: string;
  /** The next round the averager runs (one per shard, or per idle round). */
  readonly round: number;
  /** The averager's live copy of the parameters (exchanges it answered since its last round included). */
  readonly parameters: Float32Array;
  /** Every exchange result it has had, counted; `exchanges` holds the newest of them, oldest first. */
  readonly exchangesTotal: number;
  readonly exchanges: readonly HostExchange[];
}

export type HostReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly message: string };

/** The first message a host sends: it is up and has read its settings. */
export interface HostReady {
  readonly ready: true;
}
