/**
 * Crash test: the real coordinator runs as a child process (what `npm start` runs) with simulated
 * volunteers; it is SIGKILLed at random points, several times right as a checkpoint round starts
 * (uploads, averaging and the atomic write follow within milliseconds). After every kill the
 * store passes its integrity check, no acknowledged completion is missing, the latest checkpoint
 * loads, and in the end the job finishes with every shard counted exactly once.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFrame, type JobInfo } from '@tabswarm/protocol';
import { mulberry32 } from '@tabswarm/core';
import { SimVolunteer } from './sim/sim-volunteer.ts';
import { spawnCoordinator, type SpawnedCoordinator } from './spawn-coordinator.ts';
import { openStore } from './store/store.ts';
import { freshTestSchema, testStoreUrl } from './store/test-store.ts';
import { api, OPERATOR_TOKEN, tempDir } from './test-support.ts';

const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

/** SQLite in the data directory; in the postgres test project, one schema of its server. */
const storeUrl = testStoreUrl() === undefined ? undefined : freshTestSchema();

async function startCoordinator(dataDir: string): Promise<SpawnedCoordinator> {
  const coordinator = await spawnCoordinator({
    dataDir,
    args: storeUrl === undefined ? [] : ['--store', storeUrl],
    env: { TABSWARM_OPERATOR_TOKEN: OPERATOR_TOKEN },
  });
  children.push(coordinator.child);
  return coordinator;
}

/** Volunteers that lease and complete as fast as they can, recording every acknowledged completion. */
function runVolunteers(
  url: string,
  count: number,
  acked: Map<string, boolean>,
): { stop: () => void; done: Promise<void> } {
  let stopped = false;
  const sims: SimVolunteer[] = [];
  const loops = Array.from({ length: count }, async () => {
    const sim = new SimVolunteer(url, { parameters: (v) => v.map((x) => x * 0.999) });
    sims.push(sim);
    try {
      await sim.join();
      while (!stopped) {
        const lease = await sim.lease(5000);
        if (!lease) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        const result = await sim.complete(lease);
        acked.set(lease.leaseId, acked.get(lease.leaseId) === true || result.counted);
        await new Promise((r) => setTimeout(r, 20)); // a little "training" time between shards
      }
    } catch {
      // The coordinator was killed under us: expected.
    }
  });
  return {
    stop: () => {
      stopped = true;
      sims.forEach((s) => s.close());
    },
    done: Promise.all(loops).then(() => undefined),
  };
}

function checkStore(dataDir: string, jobId: string, acked: ReadonlyMap<string, boolean>): number {
  const store = openStore(dataDir, { url: storeUrl });
  const db = store.db;
  try {
    expect(store.integrityCheck()).toBe('ok');
    const lease = db.prepare('SELECT state, counted FROM leases WHERE id = ?');
    for (const [id, counted] of acked) {
      const row = lease.get(id) as { state: string; counted: number } | undefined;
      expect(row?.state, `acknowledged lease ${id}`).toBe('completed');
      if (counted) expect(row?.counted).toBe(1);
    }
    const perShard = db
      .prepare('SELECT epoch, shard, SUM(counted) AS n FROM leases WHERE job_id = ? GROUP BY epoch, shard')
      .all(jobId) as { n: number }[];
    expect(perShard.every((r) => r.n <= 1)).toBe(true);
    return (db.prepare('SELECT shards_done AS n FROM jobs WHERE id = ?').get(jobId) as { n: number }).n;
  } finally {
    store.close();
  }
}

describe('coordinator crash safety', () => {
  it(
    'survives SIGKILL at random points, including during checkpoints, and finishes the job',
    { timeout: 240_000 },
    async () => {
      const dataDir = tempDir();
      const random = mulberry32(20261122);
      const acked = new Map<string, boolean>();
      let coordinator = await startCoordinator(dataDir);
      const created = await api<{ job: JobInfo }>(`${coordinator.url}/api/jobs`, {
        body: {
          name: 'crash',
          training: { batchSize: 50, localSteps: 10, epochs: 10 },
          checkpoint: { everyShards: 5, contributors: 2, uploadTimeoutMs: 5_000 },
        },
      });
      expect(created.status).toBe(201);
      const job = created.body.job;
      let checkpointKills = 0;

      for (let cycle = 0; cycle < 6; cycle++) {
        const volunteers = runVolunteers(coordinator.url, 3, acked);
        if (cycle % 2 === 0) {
          await coordinator.waitForLog(/checkpoint requested/);
          await new Promise((r) => setTimeout(r, Math.floor(random() * 15)));
          checkpointKills++;
        } else {
          await new Promise((r) => setTimeout(r, 100 + Math.floor(random() * 400)));
        }
        coordinator.child.kill('SIGKILL');
        await coordinator.exited;
        volunteers.stop();
        await volunteers.done;

        const shardsDone = checkStore(dataDir, job.id, acked);
        coordinator = await startCoordinator(dataDir);
        // The latest checkpoint loads and verifies after every restart.
        const params = await fetch(`${coordinator.url}/api/jobs/${job.id}/parameters`);
        expect(params.status).toBe(200);
        const frame = decodeFrame(new Uint8Array(await params.arrayBuffer()));
        expect(frame.ok && frame.header.elementCount).toBe(101_770);
        const info = await api<{ job: JobInfo }>(`${coordinator.url}/api/jobs/${job.id}`);
        expect(info.body.job.shardsDone).toBe(shardsDone);
        if (info.body.job.status === 'completed') break;
      }
      expect(checkpointKills).toBeGreaterThanOrEqual(3);

      // A last run without faults finishes the job.
      const volunteers = runVolunteers(coordinator.url, 3, acked);
      for (let i = 0; i < 300; i++) {
        const info = await api<{ job: JobInfo }>(`${coordinator.url}/api/jobs/${job.id}`);
        if (info.body.job.status === 'completed') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      volunteers.stop();
      await volunteers.done;
      const final = await api<{ job: JobInfo }>(`${coordinator.url}/api/jobs/${job.id}`);
      expect(final.body.job).toMatchObject({ status: 'completed', shardsDone: final.body.job.totalShards });
      coordinator.child.kill('SIGTERM');
      await coordinator.exited;
      expect(checkStore(dataDir, job.id, acked)).toBe(final.body.job.totalShards);
      expect(acked.size).toBeGreaterThan(0);
    },
  );
});
