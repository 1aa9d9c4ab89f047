/**
 * This tab's WebRTC side: a PeerJS Peer registered under the node id, and the gossip mesh that owns
 * every incoming raw PeerJS connection (and the coordinator's relay as the fallback) — the mesh the
 * trainer's averaging exchanges parameters over, and the test exchange of a random frame.
 */
import { Peer, type PeerError } from 'peerjs';
import {
  GossipMesh,
  peerJsConnector,
  socketCoordinatorPort,
  type CoordinatorPort,
  type GossipSocket,
  type ReceiveEvent,
} from '@tabswarm/gossip';
import { encodeFp32Frame, nodeIdSchema, type IceServer, type JoinAccepted } from '@tabswarm/protocol';
import type { PeerServerState, ReceivedFrameRecord, SendFrameResult } from './test-api-types.ts';

export interface PeerMeshCallbacks {
  onState(state: PeerServerState, detail: string | null): void;
  onReceived(record: ReceivedFrameRecord): void;
}

export interface PeerMeshOptions {
  readonly accepted: JoinAccepted;
  /** The coordinator socket this node joined on (membership, relay, reports). */
  readonly socket: GossipSocket;
  /** The membership already announced (node ids), if any. */
  readonly members: readonly string[];
  readonly callbacks: PeerMeshCallbacks;
}

/** The largest test frame: 64 Mi elements, 256 MiB. */
const MAX_TEST_ELEMENTS = 1 << 26;
/** A direct link not open within this falls back to the coordinator's relay. */
const DIAL_TIMEOUT_MS = 15_000;
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
  readonly mesh: GossipMesh;
  readonly #peer: Peer;
  readonly #port: CoordinatorPort & { close(): void };
  readonly #callbacks: PeerMeshCallbacks;
  readonly #offFrame: () => void;
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  #destroyed = false;

  constructor(options: PeerMeshOptions) {
    const { accepted, callbacks } = options;
    this.nodeId = accepted.nodeId;
    this.#callbacks = callbacks;
    const secure = location.protocol === 'https:';
    callbacks.onState('connecting', null);
    this.#peer = new Peer(accepted.nodeId, {
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
    this.#peer.on('disconnected', () => this.#signallingLost());
    this.#peer.on('error', (error: PeerError<string>) => this.#onError(error));
    const members = options.members.includes(accepted.nodeId)
      ? options.members
      : [...options.members, accepted.nodeId];
    this.#port = socketCoordinatorPort(options.socket, accepted.nodeId, { members });
    // The mesh's connector takes every incoming raw PeerJS connection (and closes the others).
    this.mesh = new GossipMesh({
      coordinator: this.#port,
      connector: peerJsConnector(this.#peer),
      dialTimeoutMs: DIAL_TIMEOUT_MS,
    });
    this.#offFrame = this.mesh.onFrame((event) => {
      if (!this.#destroyed) callbacks.onReceived(toRecord(event));
    });
  }

  /** Sends a random frame to `peerId` through the mesh and resolves with the receiver's acknowledgement. */
  async sendRandomFrame(peerId: string, elements: number): Promise<SendFrameResult> {
    const fail = (error: string): SendFrameResult => ({ ok: false, bytes: 0, checksum: 0, error });
    if (!nodeIdSchema.safeParse(peerId).success) return fail('peerId is not a node id');
    if (peerId === this.nodeId) return fail('cannot send a frame to this node itself');
    if (!Number.isSafeInteger(elements) || elements < 1 || elements > MAX_TEST_ELEMENTS) {
      return fail(`elements must be an integer in 1..${MAX_TEST_ELEMENTS}`);
    }
    // Prefer WebRTC: give the Peer time to register before the mesh would fall back to the relay.
    await this.#whenOpen();
    if (this.#destroyed) return fail('stopped');
    const connected = await this.mesh.connect(peerId);
    if (!connected.ok) return fail(`${connected.code}: ${connected.message}`);
    const frame = encodeFp32Frame({
      jobId: 'selftest',
      senderId: this.nodeId,
      round: 0,
      values: randomValues(elements),
    });
    const outcome = await connected.transport.sendFrame(frame);
    if (outcome.ok) return { ok: true, bytes: outcome.bytes, checksum: outcome.checksum };
    return { ok: false, bytes: outcome.bytes, checksum: 0, error: `${outcome.code}: ${outcome.message}` };
  }

  /**
   * A renewed session token: the Peer presents it when it registers again (a reconnect after the
   * signalling socket dropped); the one it registered with stays registered until then.
   */
  renewToken(token: string): void {
    (this.#peer.options as { token?: string }).token = token;
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    if (this.#reconnectTimer !== null) clearTimeout(this.#reconnectTimer);
    this.#offFrame();
    this.mesh.close();
    this.#port.close();
    this.#peer.destroy();
    this.#callbacks.onState('off', null);
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
