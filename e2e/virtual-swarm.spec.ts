// Scenario 3f: 200 virtual volunteers (the tab's trainer classes in Node, spread over one child
// process per core by the fleet) against one real coordinator process complete a job, and the
// coordinator's store shows every shard of every epoch counted exactly once. The job is sized to
// finish on 2 cores: mnist-mlp, shards of 64 samples × 1 local step (125 shards per epoch of the
// built-in 8,000 training digits), 2 epochs, FedAvg/gossip off (averaging is other scenarios'
// subject; here the coordinator's control path under 200 members is).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { spawnCoordinator, type SpawnedCoordinator } from '../server/src/spawn-coordinator.ts';
import {
  OperatorClient,
  shardAccounting,
  startVirtualFleet,
  type VirtualFleet,
} from '../packages/virtual/src/index.ts';

const VOLUNTEERS = 200;
const EPOCHS = 2;

test('200 virtual volunteers complete a job with no shard lost or double counted', async () => {
  test.setTimeout(360_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tabswarm-virtual-swarm-'));
  let coordinator: SpawnedCoordinator | null = null;
  let fleet: VirtualFleet | null = null;
  try {
    coordinator = await spawnCoordinator({
      dataDir,
      args: ['--heartbeat-interval-ms', '3000', '--heartbeat-timeout-ms', '30000'],
      env: { LOG_LEVEL: 'warn' },
    });
    const operator = new OperatorClient(
      coordinator.url,
      fs.readFileSync(path.join(dataDir, 'operator-token'), 'utf8').trim(),
    );
    const job = await operator.createJob({
      name: 'virtual swarm 200',
      model: { kind: 'preset', preset: 'mnist-mlp' },
      dataset: 'mnist',
      training: {
        optimizer: { type: 'adam' },
        learningRate: 0.003,
        batchSize: 64,
        localSteps: 1,
        epochs: EPOCHS,
        seed: 1,
      },
      checkpoint: { everyShards: 50, contributors: 2 },
    });
    fleet = await startVirtualFleet({
      baseUrl: coordinator.url,
      count: VOLUNTEERS,
      backend: 'cpu',
      averaging: false,
    });
    expect(fleet.labels()).toHaveLength(VOLUNTEERS);

    await expect
      .poll(async () => (await fleet?.snapshot())?.filter((s) => s.nodeId !== null).length ?? 0, {
        timeout: 120_000,
      })
      .toBe(VOLUNTEERS);
    await expect
      .poll(async () => (await operator.getJob(job.id)).status, { timeout: 300_000, intervals: [2_000] })
      .toBe('completed');

    const latest = await operator.getJob(job.id);
    const accounting = shardAccounting(dataDir, job.id);
    const snapshot = await fleet.snapshot();
    console.log(
      `[virtual swarm] ${VOLUNTEERS} volunteers, ${snapshot.filter((s) => s.shardsDone > 0).length} trained, ${snapshot.reduce((a, s) => a + s.shardsDone, 0)} shards counted by volunteers when the job completed; ${JSON.stringify(accounting)}`,
    );
    expect(accounting.epochs).toBe(EPOCHS);
    expect(accounting.doneByEpoch).toEqual(Array.from({ length: EPOCHS }, () => latest.shardCount));
    expect(accounting.lost).toBe(0);
    expect(accounting.doubleCounted).toBe(0);
    expect(accounting.countedLeases).toBe(latest.shardCount * EPOCHS);
    expect(accounting.samplesDone).toBe(accounting.trainSize * EPOCHS);
    expect(latest.shardsDone).toBe(latest.totalShards);
    // The fleet's own count agrees: the shards its volunteers report done add up to the job's. A
    // volunteer counts a shard when the coordinator's answer reaches it, and on 2 saturated cores
    // the answers to the last shards can land after the job has completed: wait for them.
    await expect
      .poll(async () => (await fleet?.snapshot())?.reduce((a, s) => a + s.shardsDone, 0) ?? 0, {
        timeout: 60_000,
      })
      .toBeGreaterThanOrEqual(latest.shardsDone);
  } finally {
    await fleet?.stop();
    coordinator?.child.kill('SIGKILL');
    await coordinator?.exited;
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
