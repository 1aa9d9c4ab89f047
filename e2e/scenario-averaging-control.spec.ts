/**
 * Acceptance item 4, the control: averaging is what brings the volunteers' models together. Two
 * fleets of four virtual volunteers, each against its own coordinator, train the same job (same
 * model, seed, data, shards and optimizer) at the same time: one with averaging off, one averaging
 * by gossip after every shard. Measured twice, on both fleets alike (consensus distance: the
 * largest ‖xᵢ − x̄‖ / ‖x̄‖ over a fleet's models):
 *  - when both jobs are over (every shard of the epoch trained once): the fleet that did not
 *    average is over 5 % apart, the gossip fleet under that and five times closer (its last
 *    shards, trained after its last exchanges, still hold it 1.5–3.5 % apart: which volunteers
 *    trained last without an exchange depends on the machine's load);
 *  - after 2 more exchange rounds each without training (the trainer's after-shard averaging for
 *    shards of zero steps; the fleet without averaging has no averager, so they change nothing):
 *    the gossip fleet is within 1 %, the other one as far apart as before.
 */
import { expect, test } from '@playwright/test';
import { startVirtualFleet, type VirtualFleet } from '../packages/virtual/src/index.ts';
import {
  consensusDistance,
  distancesToMean,
  ownCoordinator,
  percent,
  smallGossipJob,
  type OwnCoordinator,
} from './consensus-distance.ts';

const VOLUNTEERS = 4;
/** The fleet without averaging stays at least this far apart. */
const APART = 0.05;
/** The gossip fleet when the job is over (below APART), and after the idle rounds. */
const TOGETHER_AT_END = APART;
const TOGETHER = 0.01;
const MIN_RATIO_AT_END = 5;
const MIN_RATIO = 20;
const IDLE_ROUNDS = 2;

interface Arm {
  readonly name: 'off' | 'gossip';
  own: OwnCoordinator | null;
  fleet: VirtualFleet | null;
}

test('averaging off leaves the models apart; gossip brings them within 1 %', async () => {
  test.setTimeout(240_000);
  const started = Date.now();
  const seconds = (): string => `${((Date.now() - started) / 1000).toFixed(0)} s`;
  const arms: Arm[] = [
    { name: 'off', own: null, fleet: null },
    { name: 'gossip', own: null, fleet: null },
  ];
  /** Each volunteer's model: its averager's copy where it has one (the exchanges it answered
   * after its last shard included: what its next shard would start from), else the trainer's. */
  const models = async (fleet: VirtualFleet): Promise<Float32Array[]> =>
    Promise.all(
      fleet.labels().map(async (label) => {
        const model = (await fleet.averaging(label))?.parameters ?? (await fleet.parameters(label));
        if (model === null) throw new Error(`${label} has no model`);
        return model;
      }),
    );
  try {
    const ends = await Promise.all(
      arms.map(async (arm) => {
        arm.own = await ownCoordinator(`control-${arm.name}`);
        const { operator } = arm.own;
        const job = await operator.createJob(smallGossipJob(`item 4: averaging ${arm.name}`));
        // One host process each: the two fleets share the machine's cores.
        const fleet = await startVirtualFleet({
          baseUrl: arm.own.coordinator.url,
          count: VOLUNTEERS,
          backend: 'cpu',
          processes: 1,
          averaging: arm.name === 'gossip',
        });
        arm.fleet = fleet;
        await expect
          .poll(async () => (await operator.getJob(job.id)).status, { timeout: 200_000, intervals: [1_000] })
          .toBe('completed');
        await expect
          .poll(async () => (await fleet.snapshot()).every((s) => s.status === 'idle'), { timeout: 30_000 })
          .toBe(true);
        const snapshot = await fleet.snapshot();
        const averagers = await Promise.all(fleet.labels().map((l) => fleet.averaging(l)));
        const end = {
          arm: arm.name,
          fleet,
          shardsDone: (await operator.getJob(job.id)).shardsDone,
          shards: snapshot.map((s) => s.shardsDone),
          exchanges: snapshot.map((s) => s.exchangesApplied),
          averagers: averagers.filter((a) => a !== null).length,
          models: await models(fleet),
        };
        console.log(
          `[item 4] ${seconds()}: averaging ${arm.name} done: ${end.shardsDone} shards ${JSON.stringify(end.shards)}, exchanges ${JSON.stringify(end.exchanges)}; distances ${distancesToMean(end.models).map(percent).join(', ')}`,
        );
        return end;
      }),
    );
    const [off, gossip] = ends as [(typeof ends)[number], (typeof ends)[number]];
    const offAtEnd = consensusDistance(off.models);
    const gossipAtEnd = consensusDistance(gossip.models);
    console.log(
      `[item 4] jobs over: consensus distance off ${percent(offAtEnd)}, gossip ${percent(gossipAtEnd)}, ratio ${(offAtEnd / gossipAtEnd).toFixed(1)}`,
    );
    // The same work on both sides: every shard of the epoch, every volunteer trained some.
    expect(gossip.shardsDone).toBe(off.shardsDone);
    for (const end of ends) for (const n of end.shards) expect(n).toBeGreaterThanOrEqual(1);
    expect(off.averagers).toBe(0);
    expect(gossip.averagers).toBe(VOLUNTEERS);
    expect(offAtEnd).toBeGreaterThan(APART);
    expect(gossipAtEnd).toBeLessThan(TOGETHER_AT_END);
    expect(offAtEnd / gossipAtEnd).toBeGreaterThan(MIN_RATIO_AT_END);
    for (const n of gossip.exchanges) expect(n).toBeGreaterThanOrEqual(1);

    // The same idle rounds for both fleets.
    const ran = await Promise.all(
      ends.map(async (end) => {
        const each: boolean[][] = [];
        for (let round = 0; round < IDLE_ROUNDS; round++)
          each.push(await end.fleet.averageIdle(end.fleet.labels()));
        return each.flat();
      }),
    );
    const offAfter = consensusDistance(await models(off.fleet));
    const gossipModels = await models(gossip.fleet);
    const gossipAfter = consensusDistance(gossipModels);
    console.log(
      `[item 4] ${seconds()}: after ${IDLE_ROUNDS} idle rounds: off ${percent(offAfter)}, gossip ${percent(gossipAfter)} (${distancesToMean(gossipModels).map(percent).join(', ')}), ratio ${(offAfter / gossipAfter).toPrecision(3)}`,
    );
    expect(ran[0]?.every((r) => !r)).toBe(true);
    expect(ran[1]?.every((r) => r)).toBe(true);
    expect(offAfter).toBe(offAtEnd);
    expect(gossipAfter).toBeLessThan(TOGETHER);
    expect(offAfter / gossipAfter).toBeGreaterThan(MIN_RATIO);
  } finally {
    await Promise.allSettled(arms.map(async (a) => a.fleet?.stop()));
    await Promise.allSettled(arms.map(async (a) => a.own?.close()));
  }
});
