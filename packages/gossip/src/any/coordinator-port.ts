/**
 * What the gossip mesh needs from the coordinator, as a port: the membership this node sees, the
 * socket.io relay, and somewhere to send link and exchange reports. `socketCoordinatorPort` adapts
 * the volunteer's socket.io connection; tests use in-memory ports.
 */
import {
  listen,
  PeerView,
  request,
  VOLUNTEER_REQUESTS,
  VOLUNTEER_SERVER_EVENTS,
  type ExchangeReport,
  type LinkReport,
  type ListenerSource,
  type PayloadError,
  type RequestTarget,
} from '@tabswarm/protocol';

export type RelaySendResult =
  | { readonly ok: true; readonly queuedMs: number }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** The coordinator's relay, seen from one volunteer. */
export interface RelayPort {
  /** Forwards one chunk-wire message; resolves once the coordinator forwarded (or refused) it. */
  send(to: string, data: Uint8Array): Promise<RelaySendResult>;
  /** Messages peers sent this node through the relay. */
  onMessage(handler: (from: string, data: Uint8Array) => void): () => void;
}

/**
 * The node ids a node sees, sorted, itself included: the whole swarm, or (`sample: true`) the
 * bounded sample the coordinator picked for it in a large swarm. Partner schedules that rely on
 * every node seeing the same membership (the hypercube) need to know which.
 */
export type MemberView = readonly string[] & { readonly sample?: true };

/** A MemberView of `ids` (sorted here), marked as a sample when it is one. */
export function memberView(ids: readonly string[], sample: boolean): MemberView {
  const sorted = [...ids].sort();
  return sample ? Object.assign(sorted, { sample: true as const }) : sorted;
}

export interface CoordinatorPort {
  readonly nodeId: string;
  /** The membership this node sees, as the coordinator last announced it. */
  members(): MemberView;
  onMembers(handler: (members: MemberView) => void): () => void;
  /** null when the coordinator offers no relay. */
  readonly relay: RelayPort | null;
  /** Fire and forget: reports are best effort and never block gossip. */
  reportLinks(report: LinkReport): void;
  reportExchange(report: ExchangeReport): void;
}

/**
 * The socket.io calls the port makes: listeners for `peers` and `relayed`, requests with an ack.
 * A socket.io-client `Socket<VolunteerServerToClient, VolunteerClientToServer>` satisfies it as is.
 */
export type GossipSocket = ListenerSource & RequestTarget;

export interface SocketPortOptions {
  /** The view already received (the `peers` snapshot that followed join, and deltas after it). */
  readonly members?: readonly string[];
  /** Offer the relay (default true). */
  readonly relay?: boolean;
  /** A relay send with no acknowledgement within this is reported failed (default 15 s). */
  readonly relayAckTimeoutMs?: number;
  /** A `peers`, `peersDelta` or `relayed` payload that failed its schema (it changed nothing); default: console.warn. */
  readonly onRejected?: (error: PayloadError) => void;
}

/** Reports are best effort: an ack that does not come within this is forgotten. */
const REPORT_TIMEOUT_MS = 30_000;

/** A CoordinatorPort over the volunteer's socket.io connection (after it joined as `nodeId`). */
export function socketCoordinatorPort(
  socket: GossipSocket,
  nodeId: string,
  options: SocketPortOptions = {},
): CoordinatorPort & { close(): void } {
  // Only the ids matter here; the backend of a peer known from before the snapshot is not needed.
  const view = new PeerView();
  view.reset([...(options.members ?? [nodeId])].map((id) => ({ nodeId: id, backend: 'cpu' })));
  let members: MemberView = memberView(view.ids(), !view.complete);
  const changed = (): void => {
    members = memberView(view.ids(), !view.complete);
    for (const handler of [...memberHandlers]) handler(members);
  };
  const memberHandlers = new Set<(members: MemberView) => void>();
  const relayHandlers = new Set<(from: string, data: Uint8Array) => void>();
  const ackTimeoutMs = options.relayAckTimeoutMs ?? 15_000;

  const unlisten = listen(
    socket,
    VOLUNTEER_SERVER_EVENTS,
    {
      peers(peers) {
        view.reset(peers);
        changed();
      },
      peersDelta(delta) {
        view.apply(delta);
        changed();
      },
      relayed({ from, data }) {
        for (const handler of [...relayHandlers]) handler(from, data);
      },
    },
    options.onRejected ?? ((error) => console.warn(error.message)),
  );

  const relay: RelayPort = {
    async send(to, data) {
      const reply = await request(socket, VOLUNTEER_REQUESTS, 'relay', { to, data }, ackTimeoutMs);
      if (reply === null)
        return { ok: false, code: 'TIMEOUT', message: `the relay did not answer within ${ackTimeoutMs} ms` };
      return reply.ok ? { ok: true, queuedMs: reply.queuedMs } : reply;
    },
    onMessage(handler) {
      relayHandlers.add(handler);
      return () => relayHandlers.delete(handler);
    },
  };

  return {
    nodeId,
    members: () => members,
    onMembers(handler) {
      memberHandlers.add(handler);
      return () => memberHandlers.delete(handler);
    },
    relay: options.relay === false ? null : relay,
    reportLinks: (links) => void request(socket, VOLUNTEER_REQUESTS, 'linkReport', links, REPORT_TIMEOUT_MS),
    reportExchange: (exchange) =>
      void request(socket, VOLUNTEER_REQUESTS, 'exchangeReport', exchange, REPORT_TIMEOUT_MS),
    close() {
      unlisten();
      memberHandlers.clear();
      relayHandlers.clear();
    },
  };
}
