import { describe, expect, it, vi } from 'vitest';
import {
  MAX_HEARTBEAT_LEASES,
  PEER_SAMPLE_SIZE,
  PeerView,
  PROTOCOL_VERSION,
  unnamedLeaseGraceMs,
  type LeaseGrantInfo,
  type NodeInfo,
  type PeerInfo,
  type PeersDelta,
} from '@tabswarm/protocol';
import {
  api,
  capabilities,
  connected,
  joinVolunteer,
  request,
  serversClosedAfterEach,
  type VolunteerClient,
} from './test-support.ts';
import { DEFAULT_LEASE_TIMING } from './scheduler/types.ts';

const start = serversClosedAfterEach();

const selfTest = {
  kernel: 'mix',
  passed: true,
  path: 'webgpu',
  elements: 257,
  maxAbsError: 0,
  durationMs: 3,
  error: null,
};

describe('volunteer namespace', () => {
  it('joins, heartbeats, records the self-test and streams every change to dashboards', async () => {
    const running = await start();
    const dashboard = running.dashboard();
    const snapshot = await request<{ nodes: NodeInfo[] }>(dashboard, 'subscribe', {
      protocolVersion: PROTOCOL_VERSION,
    });
    expect(snapshot).toMatchObject({ ok: true, nodes: [] });
    const updates: NodeInfo[] = [];
    dashboard.on('nodeUpdate', (node) => updates.push(node));

    const volunteer = running.volunteer();
    const peerLists: PeerInfo[][] = [];
    volunteer.on('peers', (peers) => peerLists.push([...peers]));
    const accepted = await joinVolunteer(volunteer);
    expect(accepted).toMatchObject({ resumed: false, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 600 });
    expect(accepted.nodeId).toMatch(/^v[0-9a-f]{16}$/);

    expect(await request(volunteer, 'heartbeat', { state: 'working', uptimeS: 2 })).toMatchObject({
      ok: true,
    });
    expect(await request(volunteer, 'selfTest', selfTest)).toEqual({ ok: true });

    await vi.waitFor(() => {
      const last = updates.at(-1);
      expect(last).toMatchObject({
        id: accepted.nodeId,
        status: 'active',
        state: 'working',
        selfTest: { passed: true },
      });
    });
    await vi.waitFor(() =>
      expect(peerLists.at(-1)).toEqual([{ nodeId: accepted.nodeId, backend: 'webgpu' }]),
    );
    expect(running.server.store.getNode(accepted.nodeId)?.selfTest?.passed).toBe(true);
  });

  it('extends the leases a heartbeat names and re-queues the ones it leaves out after the grace', async () => {
    // The coordinator's clock, moved on by hand; nobody is marked gone meanwhile.
    let offset = 0;
    const running = await start({ heartbeatTimeoutMs: 120_000 }, { clock: () => Date.now() + offset });
    const created = await api<{ job: { id: string } }>(`${running.url}/api/jobs`, {
      body: { name: 'held', training: { batchSize: 100, localSteps: 10, epochs: 1 } },
    });
    expect(created.status).toBe(201);
    await running.server.checkpoints().idle();
    const scheduler = running.server.jobs.scheduler;
    const lease = async (socket: VolunteerClient): Promise<LeaseGrantInfo> => {
      // Fast volunteers: deadlines at the floor, so an extension shows.
      const reply = await request<{ lease: LeaseGrantInfo | null }>(socket, 'requestLease', {
        samplesPerSec: 1e6,
      });
      if (!reply.ok || reply.lease === null) throw new Error('no lease');
      return reply.lease;
    };
    const beat = (socket: VolunteerClient, leases?: unknown) =>
      request(socket, 'heartbeat', {
        state: 'working',
        uptimeS: 1,
        ...(leases === undefined ? {} : { leases }),
      });

    const forgetful = running.volunteer();
    const holder = running.volunteer();
    const older = running.volunteer();
    for (const v of [forgetful, holder, older]) await joinVolunteer(v);
    // forgetful's answer "never arrived": it holds nothing. holder names its lease; older names none.
    const lost = await lease(forgetful);
    const held = await lease(holder);
    const legacy = await lease(older);
    const issued = (id: string) => scheduler.getLease(id);
    const firstDeadline = { held: issued(held.leaseId)?.deadline, legacy: issued(legacy.leaseId)?.deadline };

    // Within the grace (the grant may still be on its way), leaving a lease out changes nothing.
    expect(await beat(forgetful, [])).toMatchObject({ ok: true });
    expect(issued(lost.leaseId)?.state).toBe('active');

    // Malformed lists are refused and change nothing.
    const tooMany = Array.from({ length: MAX_HEARTBEAT_LEASES + 1 }, () => held.leaseId);
    for (const bad of [tooMany, ['not-a-lease'], 'lease-0000000000000000', [42]]) {
      expect(await beat(forgetful, bad)).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    }

    offset = unnamedLeaseGraceMs(100) + 1_000;
    expect(await beat(forgetful, [])).toMatchObject({ ok: true });
    expect(await beat(holder, [held.leaseId])).toMatchObject({ ok: true });
    expect(await beat(older)).toMatchObject({ ok: true });
    expect(issued(lost.leaseId)?.state).toBe('released');
    expect(issued(held.leaseId)).toMatchObject({ state: 'active' });
    expect(issued(held.leaseId)?.deadline).toBeGreaterThan(firstDeadline.held ?? Infinity);
    expect(issued(legacy.leaseId)).toMatchObject({ state: 'active' });
    expect(issued(legacy.leaseId)?.deadline).toBeGreaterThan(firstDeadline.legacy ?? Infinity);

    // The shard is back in the queue: the next volunteer to ask gets it.
    const next = running.volunteer();
    await joinVolunteer(next);
    const again = await lease(next);
    expect([again.epoch, again.shard]).toEqual([lost.epoch, lost.shard]);
    expect(again.leaseId).not.toBe(lost.leaseId);
  });

  it('marks a silent volunteer gone after the heartbeat timeout and tells dashboards and peers', async () => {
    const running = await start();
    const dashboard = running.dashboard();
    await request(dashboard, 'subscribe', { protocolVersion: PROTOCOL_VERSION });
    const statuses = new Map<string, string>();
    dashboard.on('nodeUpdate', (node) => statuses.set(node.id, node.status));

    const stays = running.volunteer();
    const leaves = running.volunteer();
    const a = await joinVolunteer(stays);
    const b = await joinVolunteer(leaves);
    const beat = setInterval(
      () => stays.emit('heartbeat', { state: 'idle', uptimeS: 1 }, () => undefined),
      100,
    );
    try {
      const deltas: PeersDelta[] = [];
      stays.on('peersDelta', (d) => deltas.push(d));
      leaves.disconnect();
      await vi.waitFor(() => expect(statuses.get(b.nodeId)).toBe('gone'), { timeout: 3000 });
      expect(statuses.get(a.nodeId) ?? 'active').toBe('active');
      // Peers hear it as a change to their view, not a new list.
      await vi.waitFor(() => expect(deltas).toContainEqual({ added: [], removed: [b.nodeId] }));
      expect(running.server.store.getNode(b.nodeId)?.status).toBe('gone');
    } finally {
      clearInterval(beat);
    }
  });

  it('resumes a node id with its secret and refuses a wrong secret', async () => {
    const running = await start();
    const first = running.volunteer();
    const accepted = await joinVolunteer(first);
    first.disconnect();

    const thief = running.volunteer();
    const refused = await request(thief, 'join', {
      protocolVersion: PROTOCOL_VERSION,
      capabilities,
      resume: { nodeId: accepted.nodeId, secret: '0'.repeat(32) },
    });
    expect(refused).toMatchObject({ ok: false, code: 'UNKNOWN_NODE' });

    const again = running.volunteer();
    const resumed = await request(again, 'join', {
      protocolVersion: PROTOCOL_VERSION,
      capabilities,
      resume: { nodeId: accepted.nodeId, secret: accepted.secret },
    });
    expect(resumed).toMatchObject({ ok: true, nodeId: accepted.nodeId, resumed: true });
    expect(running.server.membership.list()).toHaveLength(1);
  });

  it('refuses a connection that speaks another protocol version', async () => {
    const running = await start();
    const old = running.volunteer({ protocolVersion: PROTOCOL_VERSION + 1 });
    await expect(connected(old)).rejects.toThrow(/^VERSION_MISMATCH/);
    const none = running.dashboard({});
    await expect(connected(none)).rejects.toThrow(/^VERSION_MISMATCH/);
  });

  it('answers malformed payloads with an error code, changes nothing, and keeps others connected', async () => {
    const running = await start();
    const good = running.volunteer();
    const accepted = await joinVolunteer(good);
    const before = JSON.stringify(running.server.membership.list());

    const bad = running.volunteer();
    await connected(bad);
    // Before joining, valid heartbeats are refused too.
    expect(await request(bad, 'heartbeat', { state: 'idle', uptimeS: 1 })).toMatchObject({
      ok: false,
      code: 'NOT_JOINED',
    });
    const malformed: [string, unknown][] = [
      ['join', undefined],
      ['join', 'hello'],
      ['join', { protocolVersion: PROTOCOL_VERSION }],
      ['join', { protocolVersion: 'one', capabilities }],
      ['join', { protocolVersion: PROTOCOL_VERSION, capabilities: { ...capabilities, backend: 7 } }],
      [
        'join',
        {
          protocolVersion: PROTOCOL_VERSION,
          capabilities: { ...capabilities, userAgent: 'u'.repeat(100_000) },
        },
      ],
      ['join', { protocolVersion: PROTOCOL_VERSION, capabilities, admin: true }],
      ['heartbeat', { state: 'idle', uptimeS: 'NaN' }],
      ['selfTest', { ...selfTest, kernel: 'rm -rf' }],
    ];
    for (const [event, payload] of malformed) {
      const reply = await request(bad, event, payload);
      expect(reply.ok, `${event} ${JSON.stringify(payload)?.slice(0, 80)}`).toBe(false);
      if (!reply.ok) {
        expect(['BAD_REQUEST', 'NOT_JOINED']).toContain(reply.code);
        expect(reply.message.length).toBeGreaterThan(0);
      }
    }
    expect(await request(bad, 'join', { protocolVersion: PROTOCOL_VERSION + 5, capabilities })).toMatchObject(
      {
        ok: false,
        code: 'VERSION_MISMATCH',
      },
    );
    // Events without an ack callback and unknown events are ignored without crashing anything.
    const untyped = bad as unknown as { emit(event: string, ...args: unknown[]): void };
    untyped.emit('join', { nonsense: true });
    untyped.emit('dropTables', 1, 2, 3);

    expect(JSON.stringify(running.server.membership.list())).toBe(before);
    expect(running.server.store.listNodes()).toHaveLength(1);
    expect(bad.connected).toBe(true);
    expect(await request(good, 'heartbeat', { state: 'idle', uptimeS: 1 })).toMatchObject({ ok: true });
    expect(running.server.membership.get(accepted.nodeId)?.status).toBe('active');

    // A second join on the same connection is refused.
    expect(await request(good, 'join', { protocolVersion: PROTOCOL_VERSION, capabilities })).toMatchObject({
      ok: false,
      code: 'ALREADY_JOINED',
    });
  });

  it('drops only the sender of a message over the size limit', async () => {
    const running = await start({ maxMessageBytes: 16 * 1024 });
    const good = running.volunteer();
    await joinVolunteer(good);
    const flood = running.volunteer();
    await connected(flood);
    const gone = new Promise<string>((resolve) => flood.once('disconnect', (reason) => resolve(reason)));
    (flood as unknown as { emit(event: string, payload: unknown): void }).emit('join', {
      blob: 'x'.repeat(64 * 1024),
    });
    expect(await gone).toMatch(/transport close|transport error/);
    expect(good.connected).toBe(true);
    expect(await request(good, 'heartbeat', { state: 'idle', uptimeS: 1 })).toMatchObject({ ok: true });
  });

  it('sends each joiner a bounded view once and a leave only to the views that held it', async () => {
    const running = await start();
    const count = PEER_SAMPLE_SIZE + 8;
    const views = new Map<string, PeerView>();
    const emits = { peers: 0, peersDelta: 0 };
    const joined: { socket: ReturnType<typeof running.volunteer>; nodeId: string }[] = [];
    const beat = setInterval(() => {
      for (const { socket } of joined)
        socket.emit('heartbeat', { state: 'idle', uptimeS: 1 }, () => undefined);
    }, 100);
    for (let i = 0; i < count; i++) {
      const socket = running.volunteer();
      const view = new PeerView();
      socket.on('peers', (p) => {
        emits.peers++;
        view.reset(p);
      });
      socket.on('peersDelta', (d) => {
        emits.peersDelta++;
        view.apply(d);
      });
      const { nodeId } = await joinVolunteer(socket);
      views.set(nodeId, view);
      joined.push({ socket, nodeId });
    }
    try {
      await vi.waitFor(() => expect(emits.peers).toBe(count));
      // Every view is bounded, holds its owner, and the latest joiner sees a sample, not everyone.
      for (const [nodeId, view] of views) {
        expect(view.ids()).toContain(nodeId);
        expect(view.size).toBeLessThanOrEqual(PEER_SAMPLE_SIZE + 1);
      }
      expect(views.get(joined.at(-1)?.nodeId ?? '')?.size).toBe(PEER_SAMPLE_SIZE + 1);
      expect(views.get(joined.at(-1)?.nodeId ?? '')?.complete).toBe(false);

      // The leaver: a member some views hold and others do not (the earliest joiners are often in
      // every sample, so which one it is depends on the draw).
      const holdersOf = (nodeId: string) =>
        [...views].filter(([id, v]) => id !== nodeId && v.ids().includes(nodeId));
      const leaver = joined
        .filter((j) => holdersOf(j.nodeId).length > 0)
        .sort((a, b) => holdersOf(a.nodeId).length - holdersOf(b.nodeId).length)[0];
      if (leaver === undefined) throw new Error('nobody is seen by anybody');
      const holders = holdersOf(leaver.nodeId);
      const others = [...views].filter(([id, v]) => id !== leaver.nodeId && !v.ids().includes(leaver.nodeId));
      expect(others.length).toBeGreaterThan(0);
      const before = emits.peersDelta;
      leaver.socket.disconnect();
      await vi.waitFor(
        () => {
          for (const [, view] of holders) expect(view.ids()).not.toContain(leaver.nodeId);
        },
        { timeout: 3000 },
      );
      // The holders got one delta each (a replacement included: their views stay full); the rest,
      // nothing beyond the periodic refresh of a few samples per second.
      for (const [, view] of holders) expect(view.size).toBe(PEER_SAMPLE_SIZE + 1);
      expect(emits.peersDelta - before).toBeLessThan(holders.length + 8);
    } finally {
      clearInterval(beat);
    }
  });

  it('gives one volunteer at most its allowance of leases and refuses a completion of 0 samples', async () => {
    const running = await start();
    const created = await api<{ job: { id: string } }>(`${running.url}/api/jobs`, {
      body: { name: 'hoard', training: { batchSize: 100, localSteps: 1, epochs: 1 } },
    });
    expect(created.status).toBe(201);
    await running.server.checkpoints().idle();
    const hoarder = running.volunteer();
    const honest = running.volunteer();
    for (const v of [hoarder, honest]) await joinVolunteer(v);
    const ask = (socket: VolunteerClient) =>
      request<{ lease: LeaseGrantInfo | null; retryAfterMs: number }>(socket, 'requestLease', {
        samplesPerSec: 0.001,
      });
    const grants: LeaseGrantInfo[] = [];
    for (let i = 0; i < 10; i++) {
      const reply = await ask(hoarder);
      if (!reply.ok) throw new Error(reply.message);
      if (reply.lease === null) expect(reply.retryAfterMs).toBeGreaterThan(0);
      else grants.push(reply.lease);
    }
    expect(grants).toHaveLength(DEFAULT_LEASE_TIMING.maxLeasesPerVolunteer);
    const other = await ask(honest);
    expect(other.ok && other.lease).toBeTruthy();

    const first = grants[0];
    if (first === undefined) throw new Error('no lease');
    const scheduler = running.server.jobs.scheduler;
    const claim = (samples: number) =>
      request<{ counted: boolean }>(hoarder, 'completeLease', {
        leaseId: first.leaseId,
        loss: 0,
        samples,
        durationMs: 0,
      });
    expect(await claim(0)).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(scheduler.getLease(first.leaseId)?.state).toBe('active');
    expect(running.server.jobs.get(created.body.job.id).shardsDone).toBe(0);
    expect(await claim(first.end - first.start)).toMatchObject({ ok: true, counted: true });
    expect(running.server.jobs.get(created.body.job.id)).toMatchObject({ shardsDone: 1, samplesDone: 100 });
  });
});
