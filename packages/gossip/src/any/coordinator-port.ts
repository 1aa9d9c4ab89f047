/**
 * What the gossip mesh needs from the coordinator, as a port: the live membership, the socket.io
 * relay, and somewhere to send link and exchange reports. `socketCoordinatorPort` adapts the
 * volunteer's socket.io connection; tests use in-memory ports.
 */
import {
  listen,
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

export interface CoordinatorPort {
  readonly nodeId: string;
  /** The live membership (node ids, this node included), as the coordinator last announced it. */
  members(): readonly string[];
  onMembers(handler: (members: readonly string[]) => void): () => void;
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
  /** The membership already received (the `peers` event that followed join). */
  readonly members?: readonly string[];
  /** Offer the relay (default true). */
  readonly relay?: boolean;
  /** A relay send with no acknowledgement within this is reported failed (default 15 s). */
  readonly relayAckTimeoutMs?: number;
  /** A `peers` or `relayed` payload that failed its schema (it changed nothing); default: console.warn. */
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
  let members: readonly string[] = [...(options.members ?? [nodeId])].sort();
  const memberHandlers = new Set<(members: readonly string[]) => void>();
  const relayHandlers = new Set<(from: string, data: Uint8Array) => void>();
  const ackTimeoutMs = options.relayAckTimeoutMs ?? 15_000;

  const unlisten = listen(
    socket,
    VOLUNTEER_SERVER_EVENTS,
    {
      peers(peers) {
        members = peers.map((p) => p.nodeId).sort();
        for (const handler of [...memberHandlers]) handler(members);
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
