/**
 * Two coordinator processes, one PostgreSQL (store and socket.io adapter), one job: what a
 * volunteer does on one counts on both, a volunteer cut off from one resumes on the other and its
 * work is counted once, and a dashboard on either sees the volunteers of both.
 */
import type { ChildProcess } from 'node:child_process';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  NAMESPACES,
  PROTOCOL_VERSION,
  type JobInfo,
  type JoinAccepted,
  type NodeInfo,
  type PeerInfo,
  type PeersDelta,
} from '@tabswarm/protocol';
import { SimVolunteer } from './sim/sim-volunteer.ts';
import { spawnCoordinator, type SpawnedCoordinator } from './spawn-coordinator.ts';
import { openStore } from './store/store.ts';
import { freshTestSchema, testStoreUrl } from './store/test-store.ts';
import { api, OPERATOR_TOKEN, peerSocketUrl, request, tempDir } from './test-support.ts';

const children: ChildProcess[] = [];
const sockets: Socket[] = [];
afterAll(() => {
  sockets.forEach((s) => s.disconnect());
  children.forEach((c) => c.kill('SIGKILL'));
});

// Generous for a loaded CI machine: a volunteer must not time out while it heartbeats every 250 ms.
const HEARTBEAT_TIMEOUT_MS = 3_000;

async function coordinator(dataDir: string, storeUrl: string): Promise<SpawnedCoordinator> {
  const spawned = await spawnCoordinator({
    dataDir,
    args: [
      '--store',
      storeUrl,
      '--heartbeat-interval-ms',
      '250',
      '--heartbeat-timeout-ms',
      String(HEARTBEAT_TIMEOUT_MS),
    ],
    env: { TABSWARM_OPERATOR_TOKEN: OPERATOR_TOKEN },
  });
  children.push(spawned.child);
  return spawned;
}

function dashboard(url: string): Socket {
  const socket = io(`${url}${NAMESPACES.dashboard}`, {
    transports: ['websocket'],
    auth: { protocolVersion: PROTOCOL_VERSION },
    forceNew: true,
    reconnection: false,
  });
  sockets.push(socket);
  return socket;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(read: () => Promise<T> | T, ok: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = await read();
    if (ok(value)) return value;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** PeerJS signalling of a joined volunteer, as its page opens it; messages it receives are kept. */
async function signalling(
  url: string,
  joined: JoinAccepted,
): Promise<{ ws: WebSocket; received: unknown[] }> {
  const ws = new WebSocket(peerSocketUrl(url, joined.nodeId, joined.peerjs.token));
  const received: unknown[] = [];
  ws.on('message', (raw) => received.push(JSON.parse((raw as Buffer).toString('utf8'))));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, received };
}

describe.skipIf(testStoreUrl() === undefined)('two coordinators on one PostgreSQL', () => {
  let storeUrl = '';
  let a: SpawnedCoordinator;
  let b: SpawnedCoordinator;
  beforeAll(async () => {
    storeUrl = freshTestSchema();
    // Checkpoint frames are files: coordinators on one machine share the data directory.
    const dataDir = tempDir();
    a = await coordinator(dataDir, storeUrl);
    b = await coordinator(dataDir, storeUrl);
  });

  it(
    'share one job: a volunteer cut off from one resumes on the other, its shard counted once; dashboards and volunteers hear the other',
    { timeout: 120_000 },
    async () => {
      const created = await api<{ job: JobInfo }>(`${a.url}/api/jobs`, {
        body: {
          name: 'two coordinators',
          training: { batchSize: 50, localSteps: 10, epochs: 1 },
          // A round after every counted shard, on the coordinator that counted it.
          checkpoint: { everyShards: 1, contributors: 1, uploadTimeoutMs: 5_000 },
        },
      });
      expect(created.status).toBe(201);
      const job = created.body.job;
      // The job created on A is B's job too.
      expect((await api<{ job: JobInfo }>(`${b.url}/api/jobs/${job.id}`)).body.job.name).toBe(
        'two coordinators',
      );

      // A dashboard on A: its snapshot and live updates.
      const watcher = dashboard(a.url);
      const updates: NodeInfo[] = [];
      watcher.on('nodeUpdate', (node: NodeInfo) => updates.push(node));
      const subscribed = await request<{ nodes: NodeInfo[] }>(watcher, 'subscribe', {
        protocolVersion: PROTOCOL_VERSION,
      });
      expect(subscribed.ok).toBe(true);

      // A volunteer on B: A's dashboard hears it join (the adapter) and A's snapshot lists it (the store).
      const onB = new SimVolunteer(b.url);
      const joinedB = await onB.join();
      await until(
        () => updates,
        (u) => u.some((n) => n.id === joinedB.nodeId),
        "A's dashboard to hear of B's volunteer",
      );
      const snapshot = await request<{ nodes: NodeInfo[] }>(dashboard(a.url), 'subscribe', {
        protocolVersion: PROTOCOL_VERSION,
      });
      expect(snapshot.ok && snapshot.nodes.map((n) => n.id)).toContain(joinedB.nodeId);
      onB.close();

      // A volunteer leases on A and is cut off before it reports.
      const first = new SimVolunteer(a.url);
      const joined = await first.join();
      const lease = await first.lease(1000);
      expect(lease).not.toBeNull();
      if (lease === null) return;
      first.close();

      // It resumes on B, heartbeats there, and reports the shard there.
      const again = new SimVolunteer(b.url);
      const resumed = await again.join({ nodeId: joined.nodeId, secret: joined.secret });
      expect(resumed).toMatchObject({ nodeId: joined.nodeId, resumed: true });
      const beat = setInterval(() => void again.heartbeat().catch(() => undefined), 250);
      try {
        expect(await again.complete(lease)).toMatchObject({ counted: true, duplicate: false });
        expect(await again.complete(lease)).toMatchObject({ counted: false, duplicate: true });
        // Its next lease, on B, outlives A's sweep: A, which lost its socket, must not mark it gone
        // (nor give its leases back) now that B hears it.
        const next = await again.lease(1000);
        expect(next).not.toBeNull();
        await sleep(HEARTBEAT_TIMEOUT_MS * 3);
        const nodes = await api<{ nodes: NodeInfo[] }>(`${a.url}/api/nodes`);
        expect(nodes.body.nodes.find((n) => n.id === joined.nodeId)).toMatchObject({
          status: 'active',
          connected: true,
        });
        if (next !== null)
          expect(await again.complete(next)).toMatchObject({ counted: true, duplicate: false });
      } finally {
        clearInterval(beat);
        again.close();
      }

      // B, which started before A created the job, ran a checkpoint round for the shard it
      // counted, from its volunteer's upload: A sees the checkpoint.
      await until(
        async () => (await api<{ job: JobInfo }>(`${a.url}/api/jobs/${job.id}`)).body.job.latestCheckpoint,
        (c) => c !== null && c.seq >= 1,
        "a checkpoint from B's round",
      );

      // Counted once, as both coordinators say and the database holds.
      for (const url of [a.url, b.url]) {
        const info = await api<{ job: JobInfo }>(`${url}/api/jobs/${job.id}`);
        expect(info.body.job.shardsDone).toBe(2);
      }

      // The job cancelled on A: a volunteer of B holding a lease is told (the adapter).
      const holder = new SimVolunteer(b.url);
      await holder.join();
      const held = await holder.lease(1000);
      expect(held).not.toBeNull();
      expect((await api(`${a.url}/api/jobs/${job.id}/cancel`, { body: {} })).status).toBe(200);
      await until(
        () => holder.cancelled,
        (c) => c.includes(held?.leaseId ?? ''),
        "B's volunteer to hear that its lease was cancelled on A",
      );
      holder.close();

      const store = openStore(tempDir(), { url: storeUrl });
      try {
        const counted = store.db
          .prepare('SELECT SUM(counted) AS n FROM leases WHERE job_id = ? AND epoch = ? AND shard = ?')
          .get(job.id, lease.epoch, lease.shard);
        expect(counted).toEqual({ n: 1 });
      } finally {
        store.close();
      }
    },
  );

  it(
    'volunteers of different coordinators sample each other as peers, signal WebRTC through PeerJS and relay',
    { timeout: 60_000 },
    async () => {
      const x = new SimVolunteer(a.url);
      const seen = new Set<string>();
      x.socket.on('peers', (peers: PeerInfo[]) => peers.forEach((p) => seen.add(p.nodeId)));
      x.socket.on('peersDelta', (delta: PeersDelta) => delta.added.forEach((p) => seen.add(p.nodeId)));
      const joinedX = await x.join();
      const y = new SimVolunteer(b.url);
      const joinedY = await y.join();
      // Y joined B; X, on A, is offered it as a peer (the samples cross through the adapter).
      await until(
        () => seen,
        (s) => s.has(joinedY.nodeId),
        "A's volunteer to be offered B's as a peer",
      );

      const onA = await signalling(a.url, joinedX);
      const onB = await signalling(b.url, joinedY);
      const offer = {
        type: 'OFFER',
        dst: joinedY.nodeId,
        payload: { sdp: 'v=0 offer', connectionId: 'dc_1' },
      };
      onA.ws.send(JSON.stringify({ ...offer, src: 'someone-else' }));
      const heard = await until(
        () => onB.received,
        (r) => r.some((m) => (m as { type: string }).type === 'OFFER'),
        "B's peer to receive A's offer",
      );
      // The sender is who registered the socket, whatever the message claimed.
      expect(heard.find((m) => (m as { type: string }).type === 'OFFER')).toEqual({
        ...offer,
        src: joinedX.nodeId,
      });
      onB.ws.send(JSON.stringify({ type: 'ANSWER', dst: joinedX.nodeId, payload: { sdp: 'v=0 answer' } }));
      await until(
        () => onA.received,
        (r) => r.some((m) => (m as { type: string }).type === 'ANSWER'),
        "A's peer to receive B's answer",
      );
      // A page without WebRTC reaches the other through the coordinators' relay.
      const relayed: { from: string; data: Uint8Array }[] = [];
      y.socket.on('relayed', (m: { from: string; data: Uint8Array }) => relayed.push(m));
      const sent = await request(x.socket as unknown as Socket, 'relay', {
        to: joinedY.nodeId,
        data: new Uint8Array([1, 2, 3]),
      });
      expect(sent.ok).toBe(true);
      const got = await until(
        () => relayed,
        (r) => r.length > 0,
        "B's volunteer to receive A's relayed bytes",
      );
      expect(got[0]?.from).toBe(joinedX.nodeId);
      expect([...new Uint8Array(got[0]?.data ?? [])]).toEqual([1, 2, 3]);
      // Not queued for an unknown peer on A: no EXPIRE comes back once PeerJS's expiry (5 s) passed.
      await sleep(6_500);
      expect(onA.received.map((m) => (m as { type: string }).type)).not.toContain('EXPIRE');
      for (const s of [onA, onB]) s.ws.close();
      x.close();
      y.close();
    },
  );
});
