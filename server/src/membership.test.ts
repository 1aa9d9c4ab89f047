/**
 * Volunteer records stay bounded (issue 16): 3,000 join/leave cycles used to leave 3,000+ nodes in
 * memory, in SQLite and in /api/nodes for good. Departed volunteers are forgotten after the
 * retention period or beyond the cap, oldest first; live ones never; their counted work stays.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ProtocolError, type NodeInfo } from '@tabswarm/protocol';
import {
  DEFAULT_NODE_RETENTION,
  HEARTBEAT_PERSIST_MS,
  Membership,
  type NodeRetention,
} from './membership.ts';
import { Scheduler } from './scheduler/scheduler.ts';
import { spec } from './scheduler/test-fixture.ts';
import { openStore, type Store } from './store/store.ts';
import {
  api,
  capabilities,
  closedAfterEach,
  startServer,
  tempDir,
  type RunningServer,
} from './test-support.ts';

const TIMEOUT_MS = 10_000;
const CYCLES = 3_000;

let stores: { store: Store; dir: string }[] = [];
afterEach(() => {
  for (const { store, dir } of stores) {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  stores = [];
});

function setup(retention?: NodeRetention) {
  const dir = tempDir();
  const store = openStore(dir);
  stores.push({ store, dir });
  const clock = { now: 1_000_000 };
  const membership = new Membership(store, TIMEOUT_MS, () => clock.now, retention);
  return { store, clock, membership };
}

/** A volunteer joins, its socket closes, and it falls silent past the heartbeat timeout. */
function cycle(membership: Membership, clock: { now: number }): NodeInfo {
  const { node } = membership.join(capabilities);
  membership.disconnected(node.id);
  clock.now += TIMEOUT_MS + 1;
  membership.sweep();
  return node;
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof ProtocolError ? error.code : String(error);
  }
  return undefined;
}

describe('departed volunteers are forgotten', () => {
  it(`keeps at most the cap after ${CYCLES} join/leave cycles, in memory and in the store`, () => {
    const { store, clock, membership } = setup();
    const cap = DEFAULT_NODE_RETENTION.maxDepartedNodes;
    expect(cap).toBeLessThan(CYCLES);
    const ids = Array.from({ length: CYCLES }, () => cycle(membership, clock).id);
    expect(membership.list()).toHaveLength(cap);
    expect(store.listNodes()).toHaveLength(cap);
    // The longest silent went first: the most recent departures are the ones remembered.
    expect(new Set(membership.list().map((n) => n.id))).toEqual(new Set(ids.slice(-cap)));
    // A restart loads only what is left.
    expect(new Membership(store, TIMEOUT_MS, () => clock.now).list()).toHaveLength(cap);
  });

  it('forgets a departed volunteer after the retention period; it can no longer resume and joins anew', () => {
    const { store, clock, membership } = setup({ departedRetentionMs: 60_000, maxDepartedNodes: 100 });
    const first = membership.join(capabilities);
    membership.disconnected(first.node.id);
    clock.now += TIMEOUT_MS + 1;
    membership.sweep();
    expect(membership.get(first.node.id)?.status).toBe('gone');
    clock.now += 60_000 - TIMEOUT_MS - 1;
    membership.sweep();
    expect(membership.get(first.node.id)).toBeDefined(); // not yet past the retention
    clock.now += TIMEOUT_MS + 2;
    membership.sweep();
    expect(membership.get(first.node.id)).toBeUndefined();
    expect(store.getNode(first.node.id)).toBeUndefined();
    expect(codeOf(() => membership.join(capabilities, { nodeId: first.node.id, secret: first.secret }))).toBe(
      'UNKNOWN_NODE',
    );
    expect(membership.join(capabilities).node.status).toBe('active');
  });

  it('never forgets a live volunteer, however many there are or however long ago it joined', () => {
    const { clock, membership } = setup({ departedRetentionMs: 1_000, maxDepartedNodes: 2 });
    const live = Array.from({ length: 10 }, () => membership.join(capabilities).node.id);
    const departed = new Set<string>();
    for (let i = 0; i < 40; i++) {
      // Every step another volunteer joins and leaves; the live ones heartbeat well within the timeout.
      const { node } = membership.join(capabilities);
      membership.disconnected(node.id);
      departed.add(node.id);
      clock.now += TIMEOUT_MS / 4;
      for (const id of live) membership.heartbeat(id, { state: 'idle', uptimeS: 1 });
      membership.sweep();
    }
    const kept = membership.list();
    const ids = new Set(kept.map((n) => n.id));
    expect(live.every((id) => ids.has(id) && membership.isActive(id))).toBe(true);
    // Besides them: departures still within the heartbeat timeout (not gone yet), and at most the
    // cap of gone ones.
    const others = kept.filter((n) => !live.includes(n.id));
    expect(others.filter((n) => n.status === 'active').length).toBeLessThanOrEqual(4);
    expect(others.filter((n) => n.status === 'gone').length).toBeLessThanOrEqual(2);
    expect(others.every((n) => departed.has(n.id))).toBe(true);
  });

  it('keeps the counted work of a forgotten volunteer', () => {
    const { store, clock, membership } = setup({ departedRetentionMs: 1_000, maxDepartedNodes: 0 });
    const scheduler = new Scheduler(store.db, undefined, () => clock.now);
    const job = scheduler.createJob(spec(), 20);
    const { node } = membership.join(capabilities);
    const lease = scheduler.requestLease(node.id);
    if (lease === null) throw new Error('no lease');
    scheduler.completeLease(lease.id, node.id, { loss: 0.5, samples: 10, durationMs: 1 });
    membership.disconnected(node.id);
    clock.now += TIMEOUT_MS + 1;
    membership.sweep();
    expect(membership.get(node.id)).toBeUndefined();
    expect(scheduler.getJob(job.id)).toMatchObject({ shardsDone: 1, samplesDone: 10 });
    expect(scheduler.completions(job.id)).toEqual([expect.objectContaining({ nodeId: node.id, counted: 1 })]);
  });
});

describe('/api/nodes', () => {
  const track = closedAfterEach<RunningServer>();

  it('stays bounded through join/leave cycles', async () => {
    const clock = { now: Date.now() };
    const running = track(await startServer({ heartbeatTimeoutMs: TIMEOUT_MS }, { clock: () => clock.now }));
    const { membership } = running.server;
    for (let i = 0; i < 1_500; i++) cycle(membership, clock);
    const { body } = await api<{ nodes: NodeInfo[] }>(`${running.url}/api/nodes`);
    expect(body.nodes).toHaveLength(DEFAULT_NODE_RETENTION.maxDepartedNodes);
    expect(running.server.store.listNodes()).toHaveLength(DEFAULT_NODE_RETENTION.maxDepartedNodes);
  });
});

describe('heartbeats at scale', () => {
  it('writes a heartbeat that changes only telemetry to the store at most every HEARTBEAT_PERSIST_MS, and any other change at once', () => {
    const { store, clock, membership } = setup();
    const { node } = membership.join(capabilities);
    const joinedAt = clock.now;
    const seen: number[] = [];
    membership.onChange((n) => seen.push(n.lastSeenAt));
    for (let i = 0; i < 10; i++) {
      clock.now += 1_000;
      membership.heartbeat(node.id, { state: 'working', uptimeS: i });
    }
    // Memory and listeners (dashboards) have every heartbeat; the store kept the join's time…
    expect(membership.get(node.id)?.lastSeenAt).toBe(clock.now);
    expect(seen).toHaveLength(10);
    expect(store.getNode(node.id)?.lastSeenAt).toBe(joinedAt + 1_000); // the first: state idle → working
    // …until the stored copy is HEARTBEAT_PERSIST_MS old.
    clock.now = joinedAt + 1_000 + HEARTBEAT_PERSIST_MS;
    membership.heartbeat(node.id, { state: 'working', uptimeS: 99 });
    expect(store.getNode(node.id)?.lastSeenAt).toBe(clock.now);
    // A change of state is written at once.
    clock.now += 1_000;
    membership.heartbeat(node.id, { state: 'paused', uptimeS: 100 });
    expect(store.getNode(node.id)).toMatchObject({ state: 'paused', lastSeenAt: clock.now });
    // As is the socket closing, with the time last seen in memory.
    membership.disconnected(node.id);
    expect(store.getNode(node.id)).toMatchObject({ connected: false, lastSeenAt: clock.now });
  });
});
