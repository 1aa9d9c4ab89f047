/**
 * A gossip node in a page, without a trainer and without TensorFlow.js: joins the coordinator over
 * socket.io (heartbeats included), registers with its PeerJS server under the node id, and runs
 * the mesh and the averager over a vector. Shared by the e2e test page and the benchmark page; it
 * is also the shortest complete example of wiring the gossip package to a coordinator.
 */
import { Peer } from 'peerjs';
import { io, type Socket } from 'socket.io-client';
import {
  NAMESPACES,
  PROTOCOL_VERSION,
  PeerView,
  type IceServer,
  type JoinAccepted,
  type Reply,
  type VolunteerClientToServer,
  type VolunteerServerToClient,
} from '@tabswarm/protocol';
import { GossipAverager, type AveragingSettings } from '../src/any/averager.ts';
import { socketCoordinatorPort } from '../src/any/coordinator-port.ts';
import { basicKernels, type GossipKernels } from '../src/any/kernels.ts';
import { GossipMesh } from '../src/any/mesh.ts';
import { peerJsConnector } from '../src/page/peerjs-link.ts';

export type VolunteerSocket = Socket<VolunteerServerToClient, VolunteerClientToServer>;

export interface SwarmNodeOptions {
  readonly coordinatorUrl: string;
  readonly jobId: string;
  readonly initial: Float32Array;
  readonly averaging: AveragingSettings;
  readonly kernels?: GossipKernels;
  /** false: no WebRTC at all (no PeerJS registration): only the relay reaches this node. */
  readonly direct?: boolean;
  readonly dialTimeoutMs?: number;
  /** Leave PeerJS connections of other serializations to the page (the benchmark's baseline). */
  readonly leaveOtherConnections?: boolean;
}

export interface SwarmNode {
  readonly nodeId: string;
  readonly accepted: JoinAccepted;
  readonly socket: VolunteerSocket;
  readonly peer: Peer | null;
  readonly mesh: GossipMesh;
  readonly averager: GossipAverager;
  stop(): void;
}

const rtcIceServers = (servers: readonly IceServer[]): RTCIceServer[] =>
  servers.map((s) => ({
    urls: typeof s.urls === 'string' ? s.urls : [...s.urls],
    ...(s.username !== undefined && { username: s.username }),
    ...(s.credential !== undefined && { credential: s.credential }),
  }));

function waitFor<T>(
  what: string,
  ms: number,
  start: (resolve: (value: T) => void, reject: (e: Error) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    start(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

export async function startSwarmNode(options: SwarmNodeOptions): Promise<SwarmNode> {
  const url = new URL(options.coordinatorUrl);
  const socket: VolunteerSocket = io(`${url.origin}${NAMESPACES.volunteer}`, {
    transports: ['websocket'],
    auth: { protocolVersion: PROTOCOL_VERSION },
    reconnection: false,
  });
  // The view as it stands when the port takes over: the snapshot and every delta after it (a
  // delta that arrives while PeerJS registers would otherwise be lost).
  const view = new PeerView();
  socket.on('peers', (peers) => view.reset(peers));
  socket.on('peersDelta', (delta) => view.apply(delta));
  await waitFor<void>('connect', 15_000, (resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const reply = await waitFor<Reply<JoinAccepted>>('join', 15_000, (resolve) => {
    socket.emit(
      'join',
      {
        protocolVersion: PROTOCOL_VERSION,
        capabilities: {
          backend: 'cpu',
          adapter: null,
          fallbackReason: 'gossip test page (no trainer)',
          userAgent: navigator.userAgent.slice(0, 512),
        },
      },
      resolve,
    );
  });
  if (!reply.ok) throw new Error(`join failed: ${reply.code} ${reply.message}`);
  const accepted = reply;
  const nodeId = accepted.nodeId;
  const started = Date.now();
  const heartbeat = setInterval(() => {
    // It holds no leases: it names none.
    socket.emit(
      'heartbeat',
      { state: 'working', uptimeS: (Date.now() - started) / 1000, leases: [] },
      () => undefined,
    );
  }, accepted.heartbeatIntervalMs);

  let peer: Peer | null = null;
  if (options.direct !== false) {
    const created = new Peer(nodeId, {
      host: url.hostname,
      port: Number(url.port) || 80,
      path: accepted.peerjs.path,
      key: accepted.peerjs.key,
      token: accepted.peerjs.token,
      secure: url.protocol === 'https:',
      config: { iceServers: rtcIceServers(accepted.iceServers) },
      debug: 0,
    });
    peer = created;
    await waitFor<void>('PeerJS registration', 15_000, (resolve, reject) => {
      if (created.open) resolve();
      created.once('open', () => resolve());
      created.once('error', (e) => reject(new Error(`PeerJS: ${e.type}: ${e.message}`)));
    });
  }
  const members = view.ids();
  socket.off('peers');
  socket.off('peersDelta');
  const port = socketCoordinatorPort(socket, nodeId, { members: members.length > 0 ? members : [nodeId] });
  const mesh = new GossipMesh({
    coordinator: port,
    connector:
      peer === null ? null : peerJsConnector(peer, { leaveOthers: options.leaveOtherConnections ?? false }),
    ...(options.dialTimeoutMs !== undefined && { dialTimeoutMs: options.dialTimeoutMs }),
  });
  const averager = new GossipAverager({
    mesh,
    jobId: options.jobId,
    averaging: options.averaging,
    kernels: options.kernels ?? basicKernels,
    initial: options.initial,
    lockstep: true,
  });
  return {
    nodeId,
    accepted,
    socket,
    peer,
    mesh,
    averager,
    stop() {
      clearInterval(heartbeat);
      averager.close();
      mesh.close();
      port.close();
      peer?.destroy();
      socket.disconnect();
    },
  };
}

/** A seeded vector in [-1, 1): each page gets a different one. */
export function seededVector(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 0x100000000) * 2 - 1;
  }
  return out;
}

/** A Float32Array as base64, so a test can read a page's vector cheaply. */
export function toBase64(values: Float32Array): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
