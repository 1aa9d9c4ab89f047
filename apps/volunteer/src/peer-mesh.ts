/**
 * This tab's WebRTC side: a PeerJS Peer registered under the node id, and the LinkHost that serves
 * its raw PeerJS connections (and the coordinator's relay and membership) to the gossip mesh in the
 * trainer's worker. Each connection's second data channel goes to the worker at creation, so frames
 * travel between the worker and the wire; the page moves chunks only for a peer that has none.
 */
import { Peer, type PeerError } from 'peerjs';
import {
  LinkHost,
  peerJsConnector,
  socketCoordinatorPort,
  type CoordinatorPort,
  type GossipSocket,
} from '@tabswarm/gossip';
import type { IceServer, JoinAccepted } from '@tabswarm/protocol';
import type { PeerServerState } from './test-api-types.ts';

export interface PeerMeshCallbacks {
  onState(state: PeerServerState, detail: string | null): void;
}

export interface PeerMeshOptions {
  readonly accepted: JoinAccepted;
  /** The coordinator socket this node joined on (membership, relay, reports). */
  readonly socket: GossipSocket;
  /** The membership already announced (node ids), if any. */
  readonly members: readonly string[];
  readonly callbacks: PeerMeshCallbacks;
}

const READY_TIMEOUT_MS = 15_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function toRtcIceServers(servers: readonly IceServer[]): RTCIceServer[] {
  return servers.map((s) => ({
    urls: typeof s.urls === 'string' ? s.urls : [...s.urls],
    ...(s.username !== undefined ? { username: s.username } : {}),
    ...(s.credential !== undefined ? { credential: s.credential } : {}),
  }));
}

export class PeerMesh {
  readonly nodeId: string;
  /** The links of this identity, served to the trainer worker's mesh. */
  readonly host: LinkHost;
  readonly #peer: Peer;
  readonly #port: CoordinatorPort & { close(): void };
  readonly #callbacks: PeerMeshCallbacks;
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
    // The host takes every incoming raw PeerJS connection (and closes the others), and hands each
    // one's direct channel to the worker, so frames do not pass through this page.
    this.host = new LinkHost({
      coordinator: this.#port,
      connector: peerJsConnector(this.#peer),
      directChannels: true,
    });
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
    this.host.close();
    this.#port.close();
    this.#peer.destroy();
    this.#callbacks.onState('off', null);
  }

  /** Waits until the Peer is registered with the signalling server (direct links need it). */
  async whenOpen(): Promise<boolean> {
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
