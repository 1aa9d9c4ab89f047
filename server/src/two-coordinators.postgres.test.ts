/**
 * Two coordinator processes, one PostgreSQL (store and socket.io adapter), one job: what a
 * volunteer does on one counts on both, a volunteer cut off from one resumes on the other and its
 * work is counted once, and a dashboard on either sees the volunteers of both.
 */
import type { ChildProcess } from 'node:child_process';
import { io, type Socket } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import { NAMESPACES, PROTOCOL_VERSION, type JobInfo, type NodeInfo } from '@tabswarm/protocol';
import { SimVolunteer } from './sim/sim-volunteer.ts';
import { spawnCoordinator, type SpawnedCoordinator } from './spawn-coordinator.ts';
import { openStore } from './store/store.ts';
import { freshTestSchema, testStoreUrl } from './store/test-store.ts';
import { api, OPERATOR_TOKEN, request, tempDir } from './test-support.ts';

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

describe.skipIf(testStoreUrl() === undefined)('two coordinators on one PostgreSQL', () => {
  it(
    'share one job: a volunteer cut off from one resumes on the other, its shard counted once; dashboards and volunteers hear the other',
    { timeout: 120_000 },
    async () => {
      const storeUrl = freshTestSchema();
      // Checkpoint frames are files: coordinators on one machine share the data directory.
      const dataDir = tempDir();
      const a = await coordinator(dataDir, storeUrl);
      const b = await coordinator(dataDir, storeUrl);

      const created = await api<{ job: JobInfo }>(`${a.url}/api/jobs`, {
        body: { name: 'two coordinators', training: { batchSize: 50, localSteps: 10, epochs: 1 } },
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
});
