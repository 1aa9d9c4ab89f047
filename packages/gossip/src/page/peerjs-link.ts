/**
 * PeerJS glue: adapts a DataConnection (opened with raw serialization, reliable) to MessageLink,
 * using the RTCDataChannel's bufferedAmount and `bufferedamountlow` event for back-pressure, and
 * dials a peer with a typed outcome instead of PeerJS's scattered error events.
 */
import type { DataConnection, Peer, PeerError } from 'peerjs';
import type { DialResult, LinkConnector } from '../any/connector.ts';
import { DIRECT_CHANNEL_ID, DIRECT_CHANNEL_LABEL, waitForChannelDrain } from '../any/direct-channel.ts';
import type { MessageLink } from '../any/link.ts';

/** How every frame connection is opened: bytes as they are, ordered and reliable. */
export const FRAME_CONNECTION_OPTIONS = { serialization: 'raw', reliable: true } as const;

function channelOf(connection: DataConnection): RTCDataChannel | null {
  // PeerJS sets dataChannel to null when it closes, although its type says otherwise.
  const channel: RTCDataChannel | null | undefined = connection.dataChannel;
  return channel ?? null;
}

/** The SCTP association's negotiated maximum message size, when the browser exposes it. */
function negotiatedMaxMessage(connection: DataConnection): number | undefined {
  const pc: RTCPeerConnection | null | undefined = connection.peerConnection;
  const size = pc?.sctp?.maxMessageSize;
  return typeof size === 'number' && Number.isFinite(size) && size > 0 ? size : undefined;
}

/** A MessageLink over an open PeerJS DataConnection created with FRAME_CONNECTION_OPTIONS. */
export function dataConnectionLink(connection: DataConnection): MessageLink {
  return {
    peerId: connection.peer,
    kind: 'direct',
    get maxMessageBytes() {
      return negotiatedMaxMessage(connection);
    },
    get open() {
      return connection.open && channelOf(connection)?.readyState === 'open';
    },
    get bufferedAmount() {
      return channelOf(connection)?.bufferedAmount ?? 0;
    },
    send(message) {
      if (!connection.open) throw new Error(`connection to ${connection.peer} is not open`);
      // Raw serialization hands the bytes straight to RTCDataChannel.send.
      void connection.send(message);
    },
    waitForDrain(lowWaterBytes, timeoutMs) {
      const channel = channelOf(connection);
      if (channel === null) return Promise.resolve(false);
      return waitForChannelDrain(channel, lowWaterBytes, timeoutMs, () => connection.open);
    },
    onMessage(handler) {
      const listener = (data: unknown): void => handler(data);
      connection.on('data', listener);
      return () => {
        connection.off('data', listener);
      };
    },
    onClose(handler) {
      const listener = (): void => handler();
      connection.on('close', listener);
      return () => {
        connection.off('close', listener);
      };
    },
    close() {
      connection.close();
    },
    openTransferableChannel() {
      const pc: RTCPeerConnection | null | undefined = connection.peerConnection;
      if (pc === null || pc === undefined || pc.connectionState === 'closed') return null;
      try {
        return pc.createDataChannel(DIRECT_CHANNEL_LABEL, {
          negotiated: true,
          id: DIRECT_CHANNEL_ID,
          ordered: true,
        });
      } catch {
        return null; // the id is taken, or the connection is closing
      }
    },
  };
}

export type DialOutcome =
  | { readonly ok: true; readonly connection: DataConnection }
  | {
      readonly ok: false;
      readonly code: 'PEER_UNAVAILABLE' | 'DIAL_TIMEOUT' | 'DIAL_FAILED';
      readonly message: string;
    };

/** Opens a frame connection to `remoteId` and waits until its data channel is open. */
export function dialPeer(peer: Peer, remoteId: string, timeoutMs = 15_000): Promise<DialOutcome> {
  if (peer.destroyed || peer.disconnected) {
    return Promise.resolve({
      ok: false,
      code: 'DIAL_FAILED',
      message: 'this node is not connected to the signalling server',
    });
  }
  const connection = peer.connect(remoteId, { ...FRAME_CONNECTION_OPTIONS }) as DataConnection | undefined;
  if (connection === undefined) {
    return Promise.resolve({
      ok: false,
      code: 'DIAL_FAILED',
      message: `could not start a connection to ${remoteId}`,
    });
  }
  return new Promise<DialOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: DialOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      connection.off('open', onOpen);
      connection.off('error', onError);
      connection.off('close', onClose);
      peer.off('error', onPeerError);
      if (!outcome.ok) connection.close();
      resolve(outcome);
    };
    const onOpen = (): void => finish({ ok: true, connection });
    const onError = (error: PeerError<string>): void =>
      finish({
        ok: false,
        code: 'DIAL_FAILED',
        message: `connection to ${remoteId} failed: ${error.message}`,
      });
    const onClose = (): void =>
      finish({ ok: false, code: 'DIAL_FAILED', message: `connection to ${remoteId} closed while opening` });
    // PeerJS reports an unknown id on the Peer, not on the connection; match it by the id in the message.
    const onPeerError = (error: PeerError<string>): void => {
      if (error.type === 'peer-unavailable' && error.message.includes(remoteId)) {
        finish({
          ok: false,
          code: 'PEER_UNAVAILABLE',
          message: `peer ${remoteId} is not connected to the signalling server`,
        });
      }
    };
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          code: 'DIAL_TIMEOUT',
          message: `connection to ${remoteId} did not open within ${timeoutMs} ms`,
        }),
      timeoutMs,
    );
    connection.on('open', onOpen);
    connection.on('error', onError);
    connection.on('close', onClose);
    peer.on('error', onPeerError);
    if (connection.open) onOpen();
  });
}

/** A member just announced by the coordinator may not have registered with PeerJS yet. */
const UNAVAILABLE_RETRY_MS = 300;
/** ...but one still unknown to PeerJS after this has no WebRTC: fail fast, so the relay can take over. */
const UNAVAILABLE_GIVE_UP_MS = 1_500;

export interface PeerJsConnectorOptions {
  /** Leave connections with another serialization to other listeners instead of closing them. */
  readonly leaveOthers?: boolean;
}

/**
 * A LinkConnector over a PeerJS Peer: dials with raw reliable data connections (retrying a peer
 * that is not registered yet until the timeout), and offers every raw connection that opens to it.
 * Connections opened with another serialization are not ours and are closed (unless `leaveOthers`).
 */
export function peerJsConnector(peer: Peer, options: PeerJsConnectorOptions = {}): LinkConnector {
  const handlers = new Set<(link: MessageLink) => void>();
  let closed = false;
  const onConnection = (connection: DataConnection): void => {
    if (connection.serialization !== 'raw' && options.leaveOthers === true) return;
    if (closed || connection.serialization !== 'raw') {
      connection.close();
      return;
    }
    const offer = (): void => {
      if (closed) {
        connection.close();
        return;
      }
      const link = dataConnectionLink(connection);
      for (const handler of [...handlers]) handler(link);
    };
    if (connection.open) offer();
    else connection.once('open', offer);
  };
  peer.on('connection', onConnection);
  return {
    async dial(peerId, timeoutMs): Promise<DialResult> {
      const started = Date.now();
      const deadline = started + timeoutMs;
      for (;;) {
        const left = deadline - Date.now();
        if (closed) return { ok: false, code: 'DIAL_FAILED', message: 'the connector is closed' };
        if (left <= 0)
          return { ok: false, code: 'DIAL_TIMEOUT', message: `no connection to ${peerId} in time` };
        const outcome = await dialPeer(peer, peerId, left);
        if (outcome.ok) return { ok: true, link: dataConnectionLink(outcome.connection) };
        const retry =
          outcome.code === 'PEER_UNAVAILABLE' &&
          deadline - Date.now() > UNAVAILABLE_RETRY_MS &&
          Date.now() - started < UNAVAILABLE_GIVE_UP_MS;
        if (!retry) {
          return { ok: false, code: outcome.code, message: outcome.message };
        }
        await new Promise((resolve) => setTimeout(resolve, UNAVAILABLE_RETRY_MS));
      }
    },
    onIncoming(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    close() {
      closed = true;
      peer.off('connection', onConnection);
      handlers.clear();
    },
  };
}
