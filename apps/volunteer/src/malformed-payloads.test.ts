/**
 * Acceptance: a real socket.io server on port 0 sends each /volunteer server→client event with a
 * malformed payload to the volunteer's real clients — the coordinator connection and the gossip
 * port on its socket, composed as the page composes them — and each payload is rejected with a
 * BAD_PAYLOAD PayloadError naming the event, while nothing in either client changes.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Namespace } from 'socket.io';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { socketCoordinatorPort } from '@tabswarm/gossip';
import {
  NAMESPACES,
  VOLUNTEER_SERVER_EVENTS,
  type Capabilities,
  type JoinAccepted,
  type PayloadError,
  type VolunteerServerToClient,
} from '@tabswarm/protocol';
import { CoordinatorConnection, type CoordinatorCallbacks } from '@tabswarm/trainer';

type VolunteerEvent = keyof typeof VOLUNTEER_SERVER_EVENTS;

const NODE_ID = 'node0123456789';
const PEER_ID = 'peer0123456789';
const LEASE_ID = 'lease-0123456789abcdef';
const JOB_ID = 'job-0123456789ab';

/** One malformed payload per event: a new event without a case here does not compile. */
const MALFORMED = {
  peers: [{ nodeId: PEER_ID, backend: 'quantum' }],
  peersDelta: { added: [], removed: ['no spaces allowed'] },
  fatal: { ok: false, code: 'NOT_A_CODE', message: 42 },
  leaseCancelled: { leaseId: 'not-a-lease', reason: 'done' },
  checkpointRequest: {
    jobId: JOB_ID,
    requestId: '0123456789abcdef',
    uploadUrl: '//evil.example/steal',
    token: 'token',
    deadline: 1,
  },
  relayed: { from: PEER_ID, data: 'not binary' },
} satisfies Record<VolunteerEvent, unknown>;

/** The same events well formed: the control that shows the handlers do run when they should. */
const VALID = {
  peers: [
    { nodeId: NODE_ID, backend: 'cpu' },
    { nodeId: PEER_ID, backend: 'webgpu' },
  ],
  peersDelta: { added: [], removed: [PEER_ID] },
  fatal: { ok: false, code: 'ALREADY_JOINED', message: 'resumed elsewhere' },
  leaseCancelled: { leaseId: LEASE_ID, reason: 'done' },
  checkpointRequest: {
    jobId: JOB_ID,
    requestId: '0123456789abcdef',
    uploadUrl: `/api/jobs/${JOB_ID}/checkpoint-uploads/0123456789abcdef`,
    token: 'token',
    deadline: 1,
  },
  relayed: { from: PEER_ID, data: new Uint8Array([1, 2, 3]) },
} satisfies { [E in VolunteerEvent]: Parameters<VolunteerServerToClient[E]>[0] };

const CAPABILITIES: Capabilities = {
  backend: 'cpu',
  adapter: null,
  fallbackReason: null,
  userAgent: 'vitest',
};

const ACCEPTED: JoinAccepted = {
  nodeId: NODE_ID,
  secret: '0123456789abcdef0123456789abcdef',
  resumed: false,
  heartbeatIntervalMs: 60_000,
  heartbeatTimeoutMs: 120_000,
  peerjs: { path: '/peerjs', key: 'tabswarm', token: 'peer-token' },
  iceServers: [],
};

/** A bare socket.io server whose /volunteer namespace accepts any join. */
async function coordinator(): Promise<{ http: HttpServer; nsp: Namespace; url: string }> {
  const http = createServer();
  const nsp = new Server(http).of(NAMESPACES.volunteer);
  nsp.on('connection', (socket) => {
    socket.on('join', (_request: unknown, ack: (reply: unknown) => void) => ack({ ok: true, ...ACCEPTED }));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { http, nsp, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
}

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

/** The volunteer's connection and gossip port, joined, with every callback recorded. */
async function volunteer() {
  const server = await coordinator();
  const rejected: PayloadError[] = [];
  const onRejected = (error: PayloadError): void => void rejected.push(error);
  const callbacks = {
    onState: vi.fn<CoordinatorCallbacks['onState']>(),
    onJoined: vi.fn<CoordinatorCallbacks['onJoined']>(),
    onPeers: vi.fn<CoordinatorCallbacks['onPeers']>(),
    onLeaseCancelled: vi.fn<NonNullable<CoordinatorCallbacks['onLeaseCancelled']>>(),
    onCheckpointRequest: vi.fn<NonNullable<CoordinatorCallbacks['onCheckpointRequest']>>(),
    onRejected,
  };
  const connection = new CoordinatorConnection({
    url: server.url,
    capabilities: CAPABILITIES,
    heartbeat: () => ({ state: 'idle', uptimeS: 0 }),
    callbacks,
  });
  connection.start();
  await vi.waitFor(() => expect(connection.ready).toBe(true));
  const port = socketCoordinatorPort(connection.socket, NODE_ID, { members: [NODE_ID], onRejected });
  const relayed = vi.fn();
  const members = vi.fn();
  port.relay?.onMessage(relayed);
  port.onMembers(members);
  cleanup = async () => {
    port.close();
    connection.stop();
    await server.nsp.server.close();
  };
  /** Every client-side effect an event could have, as one snapshot (copies, not live mock arrays). */
  const effects = () => ({
    ready: connection.ready,
    accepted: connection.accepted,
    states: callbacks.onState.mock.calls.length,
    joins: callbacks.onJoined.mock.calls.length,
    peers: [...callbacks.onPeers.mock.calls],
    cancelled: [...callbacks.onLeaseCancelled.mock.calls],
    checkpoints: [...callbacks.onCheckpointRequest.mock.calls],
    members: [...port.members()],
    memberCalls: [...members.mock.calls],
    relayed: [...relayed.mock.calls],
  });
  const emit = (event: VolunteerEvent, payload: unknown): void => {
    server.nsp.emit(event, payload);
  };
  return { emit, effects, rejected };
}

describe('malformed server→client payloads on /volunteer', () => {
  it('rejects each event with a coded error and changes nothing in the connection or the gossip port', async () => {
    const client = await volunteer();
    const before = client.effects();
    for (const event of Object.keys(VOLUNTEER_SERVER_EVENTS) as VolunteerEvent[]) {
      const seen = client.rejected.length;
      client.emit(event, MALFORMED[event]);
      await vi.waitFor(() => expect(client.rejected.length).toBeGreaterThan(seen));
      const errors = client.rejected.slice(seen);
      for (const error of errors) {
        expect(error.code).toBe('BAD_PAYLOAD');
        expect(error.source).toBe(event);
      }
      expect(client.effects(), `${event} changed client state`).toEqual(before);
    }
  });

  it('lets the same events through when they are well formed (the control)', async () => {
    const client = await volunteer();
    const before = client.effects();
    for (const event of ['peers', 'leaseCancelled', 'checkpointRequest', 'relayed'] as const)
      client.emit(event, VALID[event]);
    await vi.waitFor(() => expect(client.effects().relayed).toHaveLength(1));
    const after = client.effects();
    expect(after.peers).toEqual([[VALID.peers]]);
    expect(after.members).toEqual([NODE_ID, PEER_ID]);
    expect(after.cancelled).toEqual([[VALID.leaseCancelled]]);
    expect(after.checkpoints).toEqual([[VALID.checkpointRequest]]);
    expect(after).not.toEqual(before);
    client.emit('fatal', VALID.fatal);
    await vi.waitFor(() => expect(client.effects().ready).toBe(false));
    expect(client.rejected).toEqual([]);
  });
});
