/**
 * The messages between a fleet (fleet.ts, in the caller's process) and each of its host processes
 * (fleet-host.ts): one request per call, answered by id. Child processes talk over Node's IPC
 * channel with structured-clone serialisation, so parameters travel as Float32Arrays.
 */
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
  | { readonly op: 'stop' };

export interface HostRequest {
  readonly id: number;
  readonly command: HostCommand;
}

export interface HostVolunteerState extends VirtualVolunteerState {
  readonly label: string;
  readonly nodeId: string | null;
}

export type HostReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly message: string };

/** The first message a host sends: it is up and has read its settings. */
export interface HostReady {
  readonly ready: true;
}
