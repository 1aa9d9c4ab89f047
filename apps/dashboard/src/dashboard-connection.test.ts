/**
 * Acceptance: a real socket.io server on port 0 sends each /dashboard server→client event with a
 * malformed payload to the real DashboardConnection; each is rejected with a BAD_PAYLOAD
 * PayloadError naming the event and reaches no callback. Well-formed ones do (the control).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DASHBOARD_SERVER_EVENTS,
  NAMESPACES,
  type DashboardServerToClient,
  type PayloadError,
} from '@tabswarm/protocol';
import { DashboardConnection, type DashboardCallbacks } from './dashboard-connection.ts';

/** The events under test: the event map's, each of which must have its schema. */
type DashboardEvent = keyof DashboardServerToClient & keyof typeof DASHBOARD_SERVER_EVENTS;
const [NODE_ID, JOB_ID] = ['node0123456789', 'job-0123456789ab'];

/** One malformed payload per event: a new event without a case here does not compile. */
const MALFORMED = {
  nodeUpdate: { id: NODE_ID, status: 'asleep' },
  jobUpdate: { id: JOB_ID, name: 'mnist', status: 'running', spec: { name: '' } },
  logEvent: { seq: -1, at: 0, kind: 'gossip', level: 'info', jobId: null, nodeId: null, message: 'x' },
  linkUpdate: { nodeId: NODE_ID, reportedAt: 0, links: [{ peer: 'x' }], quarantined: [] },
  consensus: { jobId: JOB_ID, at: 0, nodeId: NODE_ID, partner: NODE_ID, outcome: 'maybe' },
} satisfies Record<DashboardEvent, unknown>;

/** Well-formed events for the control (the job is left out: its spec has its own tests). */
const VALID = {
  logEvent: { seq: 1, at: 5, kind: 'join', level: 'info', jobId: null, nodeId: NODE_ID, message: 'joined' },
  linkUpdate: { nodeId: NODE_ID, reportedAt: 5, links: [], quarantined: [] },
  consensus: {
    jobId: JOB_ID,
    at: 5,
    nodeId: NODE_ID,
    partner: 'peer0123456789',
    role: 'initiator',
    outcome: 'ok',
    codec: 'fp32',
    distance: 0.5,
    bytes: 100,
    durationMs: 3,
    link: 'direct',
  },
} satisfies { [E in 'logEvent' | 'linkUpdate' | 'consensus']: Parameters<DashboardServerToClient[E]>[0] };

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

/** A bare /dashboard namespace that answers subscribe with an empty snapshot, and a subscribed client. */
async function subscribed() {
  const http = createServer();
  const nsp = new Server(http).of(NAMESPACES.dashboard);
  nsp.on('connection', (socket) => {
    socket.on('subscribe', (_request: unknown, ack: (reply: unknown) => void) =>
      ack({ ok: true, nodes: [], jobs: [], serverTime: Date.now() }),
    );
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const rejected: PayloadError[] = [];
  const callbacks = {
    onState: vi.fn<DashboardCallbacks['onState']>(),
    onSnapshot: vi.fn<DashboardCallbacks['onSnapshot']>(),
    onNode: vi.fn<DashboardCallbacks['onNode']>(),
    onJob: vi.fn<DashboardCallbacks['onJob']>(),
    onEvent: vi.fn<DashboardCallbacks['onEvent']>(),
    onLinks: vi.fn<DashboardCallbacks['onLinks']>(),
    onConsensus: vi.fn<DashboardCallbacks['onConsensus']>(),
    onRejected: (error: PayloadError) => void rejected.push(error),
  };
  const connection = new DashboardConnection(
    callbacks,
    `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
  );
  connection.start();
  await vi.waitFor(() => expect(callbacks.onSnapshot).toHaveBeenCalledTimes(1));
  cleanup = async () => {
    connection.stop();
    await nsp.server.close();
  };
  /** Every callback's calls so far, copied: what a dashboard store would have been told. */
  const effects = () =>
    Object.fromEntries(
      Object.entries(callbacks).flatMap(([name, fn]) =>
        vi.isMockFunction(fn) ? [[name, [...fn.mock.calls]]] : [],
      ),
    );
  const emit = (event: DashboardEvent, payload: unknown): void => void nsp.emit(event, payload);
  return { emit, effects, rejected, callbacks };
}

describe('malformed server→client payloads on /dashboard', () => {
  it('rejects each event with a coded error and tells the dashboard nothing', async () => {
    const client = await subscribed();
    const before = client.effects();
    for (const event of Object.keys(DASHBOARD_SERVER_EVENTS) as DashboardEvent[]) {
      client.emit(event, MALFORMED[event]);
      await vi.waitFor(() => expect(client.rejected.map((e) => e.source)).toContain(event));
      expect(client.effects(), `${event} reached a callback`).toEqual(before);
    }
    expect(client.rejected.map((e) => e.code)).toEqual(Object.keys(MALFORMED).map(() => 'BAD_PAYLOAD'));
  });

  it('passes well-formed events on (the control)', async () => {
    const client = await subscribed();
    for (const event of ['logEvent', 'linkUpdate', 'consensus'] as const) client.emit(event, VALID[event]);
    await vi.waitFor(() => expect(client.callbacks.onConsensus).toHaveBeenCalledWith(VALID.consensus));
    expect(client.callbacks.onEvent).toHaveBeenCalledWith(VALID.logEvent);
    expect(client.callbacks.onLinks).toHaveBeenCalledWith(VALID.linkUpdate);
    expect(client.rejected).toEqual([]);
  });
});
