/**
 * This tab's WebRTC side: a PeerJS Peer registered under the node id, the gossip FrameHub that
 * carries parameter frames over raw data connections, and the test exchange of a random frame.
 */
import { Peer, type DataConnection, type PeerError } from 'peerjs';
import {
  FrameHub,
  dataConnectionLink,
  dialPeer,
  type FrameTransport,
  type ReceiveEvent,
} from '@tabswarm/gossip';
import { encodeFp32Frame, nodeIdSchema, type IceServer, type JoinAccepted } from '@tabswarm/protocol';
import type { PeerServerState, ReceivedFrameRecord, SendFrameResult } from './test-api-types.ts';

export interface PeerMeshCallbacks {
  onState(state: PeerServerState, detail: string | null): void;
  onReceived(record: ReceivedFrameRecord): void;
  /** Whether the coordinator lists this node as a live member; only those are worth re-dialling. */
  isMember(peerId: string): boolean;
}

/** The largest test frame: 64 Mi elements, 256 MiB. */
const MAX_TEST_ELEMENTS = 1 << 26;
const DIAL_TIMEOUT_MS = 15_000;
/** A member just announced by the coordinator may not have registered with PeerJS yet. */
const UNAVAILABLE_RETRY_MS = 500;
const UNAVAILABLE_RETRIES = 10;
const READY_TIMEOUT_MS = 15_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function toRtcIceServers(servers: readonly IceServer[]): RTCIceServer[] {
  return servers.map((s) => ({
    urls: typeof s.urls === 'string' ? s.urls : [...s.urls],
    ...(s.username !== undefined ? { username: s.username } : {}),
    ...(s.credential !== undefined ? { credential: s.credential } : {}),
  }));
}

function randomValues(elements: number): Float32Array {
  const values = new Float32Array(elements);
  for (let i = 0; i < elements; i++) values[i] = Math.random() * 2 - 1;
  return values;
}

function toRecord(event: ReceiveEvent): ReceivedFrameRecord {
  if (event.ok) {
    const { header } = event.frame;
    return { from: event.peerId, elementCount: header.elementCount, checksum: header.checksum, ok: true };
  }
  return {
    from: event.peerId,
    elementCount: 0,
    checksum: 0,
    ok: false,
    error: `${event.code}: ${event.message}`,
  };
}

export class PeerMesh {
  readonly nodeId: string;
  readonly #peer: Peer;
  readonly #hub: FrameHub;
  readonly #callbacks: PeerMeshCallbacks;
  readonly #dialing = new Map<string, Promise<FrameTransport | string>>();
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  #destroyed = false;

  constructor(nodeId: string, accepted: JoinAccepted, callbacks: PeerMeshCallbacks) {
    this.nodeId = nodeId;
    this.#callbacks = callbacks;
    this.#hub = new FrameHub({ onReceive: (event) => callbacks.onReceived(toRecord(event)) });
    const secure = location.protocol === 'https:';
    callbacks.onState('connecting', null);
    this.#peer = new Peer(nodeId, {
      host: location.hostname,
      port: Number(location.port) || (secure ? 443 : 80),
      path: accepted.peerjs.path,
      key: accepted.peerjs.key,
      // Proves to the coordinator's PeerJS server that this tab owns the node id.
      token: accepted.peerjs.token,
      secure,
      config: { iceServers: toRtcIceServers(accepted.iceServers) },
      debug: 1,
    });
    this.#peer.on('open', () => {
      if (!this.#destroyed) callbacks.onState('open', null);
    });
    this.#peer.on('connection', (connection) => this.#accept(connection));
    this.#peer.on('disconnected', () => this.#signallingLost());
    this.#peer.on('error', (error: PeerError<string>) => this.#onError(error));
  }

  /** Sends a random frame to `peerId` and resolves with the receiver's acknowledgement. */
  async sendRandomFrame(peerId: string, elements: number): Promise<SendFrameResult> {
    const fail = (error: string): SendFrameResult => ({ ok: false, bytes: 0, checksum: 0, error });
    if (!nodeIdSchema.safeParse(peerId).success) return fail('peerId is not a node id');
    if (peerId === this.nodeId) return fail('cannot send a frame to this node itself');
    if (!Number.isSafeInteger(elements) || elements < 1 || elements > MAX_TEST_ELEMENTS) {
      return fail(`elements must be an integer in 1..${MAX_TEST_ELEMENTS}`);
    }
    const transport = await this.#transportTo(peerId);
    if (typeof transport === 'string') return fail(transport);
    const frame = encodeFp32Frame({
      jobId: 'selftest',
      senderId: this.nodeId,
      round: 0,
      values: randomValues(elements),
    });
    const outcome = await transport.sendFrame(frame);
    if (outcome.ok) return { ok: true, bytes: outcome.bytes, checksum: outcome.checksum };
    return { ok: false, bytes: outcome.bytes, checksum: 0, error: `${outcome.code}: ${outcome.message}` };
  }

  destroy(): void {
    this.#destroyed = true;
    if (this.#reconnectTimer !== null) clearTimeout(this.#reconnectTimer);
    this.#hub.close();
    this.#peer.destroy();
    this.#callbacks.onState('off', null);
  }

  /** An open transport to the peer (either side may have dialled), or why there is none. */
  #transportTo(peerId: string): Promise<FrameTransport | string> {
    const open = this.#hub.transportFor(peerId);
    if (open !== undefined) return Promise.resolve(open);
    let pending = this.#dialing.get(peerId);
    if (pending === undefined) {
      pending = this.#dial(peerId).finally(() => this.#dialing.delete(peerId));
      this.#dialing.set(peerId, pending);
    }
    return pending;
  }

  async #dial(peerId: string): Promise<FrameTransport | string> {
    if (!(await this.#whenOpen())) return 'this node is not connected to the PeerJS server';
    for (let attempt = 0; ; attempt++) {
      if (this.#destroyed) return 'stopped';
      const outcome = await dialPeer(this.#peer, peerId, DIAL_TIMEOUT_MS);
      if (outcome.ok) return this.#hub.attach(dataConnectionLink(outcome.connection));
      // The peer may have dialled us meanwhile.
      const open = this.#hub.transportFor(peerId);
      if (open !== undefined) return open;
      const retry =
        outcome.code === 'PEER_UNAVAILABLE' &&
        attempt < UNAVAILABLE_RETRIES &&
        this.#callbacks.isMember(peerId);
      if (!retry) return `${outcome.code}: ${outcome.message}`;
      await sleep(UNAVAILABLE_RETRY_MS);
    }
  }

  /** Waits until the Peer is registered with the signalling server. */
  async #whenOpen(): Promise<boolean> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!this.#destroyed && Date.now() < deadline) {
      if (this.#peer.open) return true;
      await sleep(100);
    }
    return this.#peer.open;
  }

  #accept(connection: DataConnection): void {
    if (this.#destroyed || connection.serialization !== 'raw') {
      // Frames only travel as raw bytes; anything else is not one of ours.
      connection.close();
      return;
    }
    const attach = (): void => {
      if (this.#destroyed) connection.close();
      else this.#hub.attach(dataConnectionLink(connection));
    };
    if (connection.open) attach();
    else connection.once('open', attach);
  }

  #signallingLost(): void {
    if (this.#destroyed || this.#peer.destroyed) return;
    this.#callbacks.onState('connecting', 'lost the PeerJS server; reconnecting');
    if (this.#reconnectTimer !== null) return;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      if (!this.#destroyed && !this.#peer.destroyed && this.#peer.disconnected) this.#peer.reconnect();
    }, 1_000);
  }

  #onError(error: PeerError<string>): void {
    if (this.#destroyed) return;
    // Dial failures are reported to the dialler; only errors about the Peer itself change its state.
    if (error.type === 'peer-unavailable' || error.type === 'webrtc') return;
    if (this.#peer.destroyed) this.#callbacks.onState('error', `${error.type}: ${error.message}`);
    else if (this.#peer.disconnected) this.#signallingLost();
  }
}
