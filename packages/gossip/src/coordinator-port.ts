/**
 * What the gossip mesh needs from the coordinator, as a port: the live membership, the socket.io
 * relay, and somewhere to send link and exchange reports. `socketCoordinatorPort` adapts the
 * volunteer's socket.io connection; tests use in-memory ports.
 */
import type {
  Ack,
  ExchangeReport,
  LinkReport,
  PeerInfo,
  RelayedMessage,
  RelayMessage,
  Reply,
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
 * The socket.io calls the port makes. A socket.io-client `Socket<VolunteerServerToClient,
 * VolunteerClientToServer>` satisfies it as is.
 */
export interface GossipSocket {
  on(event: 'peers', listener: (peers: readonly PeerInfo[]) => void): unknown;
  on(event: 'relayed', listener: (message: RelayedMessage) => void): unknown;
  off(event: 'peers', listener: (peers: readonly PeerInfo[]) => void): unknown;
  off(event: 'relayed', listener: (message: RelayedMessage) => void): unknown;
  emit(event: 'relay', message: RelayMessage, ack: Ack<{ queuedMs: number }>): unknown;
  emit(event: 'linkReport', report: LinkReport, ack: Ack): unknown;
  emit(event: 'exchangeReport', report: ExchangeReport, ack: Ack): unknown;
}

export interface SocketPortOptions {
  /** The membership already received (the `peers` event that followed join). */
  readonly members?: readonly string[];
  /** Offer the relay (default true). */
  readonly relay?: boolean;
  /** A relay send with no acknowledgement within this is reported failed (default 15 s). */
  readonly relayAckTimeoutMs?: number;
}

const ignore = (): void => undefined;

function toBytes(data: Uint8Array | ArrayBuffer): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data);
}

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

  const onPeers = (peers: readonly PeerInfo[]): void => {
    if (!Array.isArray(peers)) return;
    members = (peers as readonly unknown[])
      .flatMap((p) =>
        typeof p === 'object' && p !== null && 'nodeId' in p && typeof p.nodeId === 'string'
          ? [p.nodeId]
          : [],
      )
      .sort();
    for (const handler of [...memberHandlers]) handler(members);
  };
  const onRelayed = (message: RelayedMessage): void => {
    const from = message?.from;
    const data = message?.data;
    if (typeof from !== 'string' || !(data instanceof Uint8Array || data instanceof ArrayBuffer)) return;
    const bytes = toBytes(data);
    for (const handler of [...relayHandlers]) handler(from, bytes);
  };
  socket.on('peers', onPeers);
  socket.on('relayed', onRelayed);

  const relay: RelayPort = {
    send(to, data) {
      return new Promise<RelaySendResult>((resolve) => {
        let done = false;
        const timer = setTimeout(() => {
          done = true;
          resolve({
            ok: false,
            code: 'TIMEOUT',
            message: `the relay did not answer within ${ackTimeoutMs} ms`,
          });
        }, ackTimeoutMs);
        socket.emit('relay', { to, data }, (reply: Reply<{ queuedMs: number }>) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(
            reply?.ok === true
              ? { ok: true, queuedMs: reply.queuedMs }
              : { ok: false, code: reply?.code ?? 'INTERNAL', message: reply?.message ?? 'no reply' },
          );
        });
      });
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
    reportLinks(report) {
      socket.emit('linkReport', report, ignore);
    },
    reportExchange(report) {
      socket.emit('exchangeReport', report, ignore);
    },
    close() {
      socket.off('peers', onPeers);
      socket.off('relayed', onRelayed);
      memberHandlers.clear();
      relayHandlers.clear();
    },
  };
}
