/** The volunteer page's state: one immutable snapshot, replaced on change, read by React and the test API. */
import type { AdapterInfo, Backend, PeerInfo, SelfTestReport } from '@tabswarm/protocol';
import type { TrainerStatus } from '@tabswarm/trainer';
import { createStore, type Store } from '@tabswarm/ui';
import type {
  ConnectionState,
  PeerServerState,
  ReceivedFrameRecord,
  SelfTestStatus,
} from './test-api-types.ts';

export interface VolunteerState {
  /** Between Start and Stop. */
  readonly running: boolean;
  /** What the session is doing right now, for people. */
  readonly step: string;
  readonly connection: ConnectionState;
  /** "attempt 3", an error message, or null. */
  readonly connectionDetail: string | null;
  readonly nodeId: string | null;
  readonly backend: Backend | null;
  readonly fallbackReason: string | null;
  readonly adapter: AdapterInfo | null;
  /** Why there is no WebGPU adapter, when there is none. */
  readonly webgpuReason: string | null;
  readonly selfTest: SelfTestStatus;
  readonly selfTestReport: SelfTestReport | null;
  readonly peers: readonly PeerInfo[];
  readonly peerServer: PeerServerState;
  readonly peerServerDetail: string | null;
  readonly startedAt: number | null;
  readonly receivedFrames: readonly ReceivedFrameRecord[];
  /** The trainer's latest status; null before Start. */
  readonly trainer: TrainerStatus | null;
  /** Notable trainer events (released leases, restarts, checkpoints), newest last. */
  readonly trainerLog: readonly TrainerLogLine[];
  /** Volunteer settings; they survive Stop. */
  readonly dutyCycle: number;
  readonly pauseWhenHidden: boolean;
  /** The volunteer pressed Pause: training waits (the tab stays connected) until Resume. */
  readonly pausedByUser: boolean;
}

export interface TrainerLogLine {
  readonly at: number;
  readonly level: 'info' | 'warn';
  readonly text: string;
}

export const INITIAL_STATE: VolunteerState = {
  running: false,
  step: 'Not started',
  connection: 'disconnected',
  connectionDetail: null,
  nodeId: null,
  backend: null,
  fallbackReason: null,
  adapter: null,
  webgpuReason: null,
  selfTest: 'pending',
  selfTestReport: null,
  peers: [],
  peerServer: 'off',
  peerServerDetail: null,
  startedAt: null,
  receivedFrames: [],
  trainer: null,
  trainerLog: [],
  dutyCycle: 1,
  pauseWhenHidden: true,
  pausedByUser: false,
};

export type VolunteerStore = Store<VolunteerState>;

export function createVolunteerStore(): VolunteerStore {
  return createStore(INITIAL_STATE);
}
