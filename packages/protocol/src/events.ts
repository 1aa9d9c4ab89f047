/**
 * socket.io event maps, declared once and imported by the coordinator and by both apps. Every
 * payload type is a schema's output (z.infer); event-schemas.ts pairs each event with its schema,
 * and the receiving side parses with it before a handler sees the payload.
 */
import type { ErrorReply, Reply } from './errors.ts';
import type {
  ConsensusPoint,
  ExchangeReport,
  LinkReport,
  NodeLinks,
  RelayedMessage,
  RelayMessage,
} from './gossip.ts';
import type {
  CheckpointRequest,
  JobInfo,
  LeaseCancelled,
  LeaseCompletion,
  LeaseGrantInfo,
  LeaseRelease,
  LeaseRequest,
  LogEvent,
} from './jobs.ts';
import type {
  DashboardSubscribe,
  Heartbeat,
  HeartbeatAck,
  JoinAccepted,
  JoinRequest,
  NodeInfo,
  PeerInfo,
  PeerList,
  PeersDelta,
  SelfTestReport,
} from './schemas.ts';

export type Ack<T extends object = object> = (reply: Reply<T>) => void;

export interface VolunteerClientToServer {
  join: (request: JoinRequest, ack: Ack<JoinAccepted>) => void;
  heartbeat: (heartbeat: Heartbeat, ack: Ack<HeartbeatAck>) => void;
  selfTest: (report: SelfTestReport, ack: Ack) => void;
  /** Asks for a shard; `lease` is null when there is no work, with a hint when to ask again. */
  requestLease: (
    request: LeaseRequest,
    ack: Ack<{ lease: LeaseGrantInfo | null; retryAfterMs: number }>,
  ) => void;
  /** Reports a shard done. Idempotent by lease id; acknowledged only once it is durable. */
  completeLease: (completion: LeaseCompletion, ack: Ack<{ counted: boolean; duplicate: boolean }>) => void;
  /** Gives a lease back (e.g. its shard could not be downloaded). */
  releaseLease: (release: LeaseRelease, ack: Ack) => void;
  /** Gossip: this node's links (kind, round trip, bytes, rejected frames), every few seconds. */
  linkReport: (report: LinkReport, ack: Ack) => void;
  /** Gossip: one side of one exchange (the consensus metric and the bytes it cost). */
  exchangeReport: (report: ExchangeReport, ack: Ack) => void;
  /**
   * Gossip: forwards one chunk-wire message to a peer when no direct link can be made. The ack
   * comes once it was forwarded; the coordinator paces each sender to its relay rate.
   */
  relay: (message: RelayMessage, ack: Ack<{ queuedMs: number }>) => void;
}

export interface VolunteerServerToClient {
  /** The membership this volunteer sees (whole swarm or sample), sent once after each join. */
  peers: (peers: PeerList) => void;
  /** A change to that view: members joined or left, or the coordinator refreshed the sample. */
  peersDelta: (delta: PeersDelta) => void;
  /** A fatal problem with this connection, sent before the server disconnects it. */
  fatal: (error: ErrorReply) => void;
  /** Stop working on this lease: another copy finished first, or the job was paused or ended. */
  leaseCancelled: (notice: LeaseCancelled) => void;
  /** Upload your current parameters for a checkpoint. */
  checkpointRequest: (request: CheckpointRequest) => void;
  /** Gossip: a message a peer sent through the relay. */
  relayed: (message: RelayedMessage) => void;
}

export interface DashboardClientToServer {
  subscribe: (
    request: DashboardSubscribe,
    ack: Ack<{ nodes: NodeInfo[]; jobs: JobInfo[]; serverTime: number }>,
  ) => void;
}

export interface DashboardServerToClient {
  nodeUpdate: (node: NodeInfo) => void;
  jobUpdate: (job: JobInfo) => void;
  logEvent: (event: LogEvent) => void;
  /** Gossip: a volunteer's latest link report. */
  linkUpdate: (links: NodeLinks) => void;
  /** Gossip: one side of one exchange. */
  consensus: (point: ConsensusPoint) => void;
}

/**
 * Between coordinator processes that share one store (socket.io's cluster adapter's
 * serverSideEmit): what one coordinator must tell the others so that volunteers connected to
 * different ones can gossip.
 */
export interface InterServerEvents {
  /** A volunteer became a peer anyone may sample (active, not distrusted), or stopped being one. */
  peerSample: (change: { op: 'add'; peer: PeerInfo } | { op: 'remove'; nodeId: string }) => void;
  /** A PeerJS signalling message for a peer registered on another coordinator. */
  peerSignal: (message: { type: string; src: string; dst: string; payload?: unknown }) => void;
}

export interface VolunteerSocketData {
  nodeId?: string | undefined;
}

export interface DashboardSocketData {
  subscribed?: boolean;
}
