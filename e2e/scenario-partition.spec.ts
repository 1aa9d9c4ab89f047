/**
 * Acceptance scenario (e): four virtual volunteers (the tab's trainer and gossip averager in Node,
 * over the fleet's two host processes, so pairs talk directly and through the coordinator's relay)
 * train mnist-mlp in gossip mode against a real coordinator. After their first shards they are
 * partitioned 2 + 2 until the job's shards run out: no exchange crosses the cut, each half keeps
 * averaging inside itself, and the halves' models drift apart. Then the partition heals, and
 * within 5 exchange rounds every volunteer's consensus distance ‖xᵢ − x̄‖ / ‖x̄‖ is under 1 %.
 *
 * Why the rounds after the heal run without training: every shard moves a model by a few percent
 * (Adam steps on different data), so while training goes on no averaging can hold four models
 * within 1 % of each other, and the distance would measure the learning rate, not the heal. So the
 * partition lasts until the job is over (the shards run out), and after the heal the fleet runs
 * the trainer's own after-shard averaging for shards of zero steps (averageIdle: the same averager,
 * mesh, schedule and relay, one volunteer after another). If the heal left the halves cut off,
 * or the averager skipped its exchanges, the halves would stay as far apart as the partition left
 * them — the test asserts that was well over 1 % — and it fails.
 */
import { expect, test } from '@playwright/test';
import { startVirtualFleet, type VirtualFleet } from '../packages/virtual/src/index.ts';
import type { HostAveraging } from '../packages/virtual/src/fleet-protocol.ts';
import {
  consensusDistance,
  distancesToMean,
  groupDistance,
  ownCoordinator,
  percent,
  smallGossipJob,
  type OwnCoordinator,
} from './consensus-distance.ts';

const VOLUNTEERS = 4;

/** The exchanges an averager had after `before` was read. */
const since = (now: HostAveraging, before: HostAveraging | undefined): HostAveraging['exchanges'] =>
  now.exchanges.slice(
    Math.max(0, now.exchanges.length - (now.exchangesTotal - (before?.exchangesTotal ?? 0))),
  );

const ROUNDS_AFTER_HEAL = 5;
/** Consensus after the heal. */
const TARGET = 0.01;
/** The halves must have drifted at least this far apart for the heal to have something to do. */
const PARTITION_DRIFT = 0.03;

test('a 2 + 2 partition heals: consensus distance under 1 % within 5 exchange rounds', async () => {
  test.setTimeout(240_000);
  const started = Date.now();
  const seconds = (): string => `${((Date.now() - started) / 1000).toFixed(0)} s`;
  let own: OwnCoordinator | null = null;
  let fleet: VirtualFleet | null = null;
  try {
    own = await ownCoordinator('partition');
    const { operator } = own;
    // Most of its shards are trained partitioned.
    const job = await operator.createJob(smallGossipJob('scenario e: partition'));
    const swarm = await startVirtualFleet({
      baseUrl: own.coordinator.url,
      count: VOLUNTEERS,
      backend: 'cpu',
    });
    fleet = swarm;
    const labels = [...swarm.labels()];
    const halves = [labels.slice(0, 2), labels.slice(2)] as const;
    const half = (label: string): number => (halves[0].includes(label) ? 0 : 1);

    const averagers = async (): Promise<HostAveraging[]> => {
      const all = await Promise.all(labels.map((l) => swarm.averaging(l)));
      return all.map((a, i) => {
        if (a === null) throw new Error(`${labels[i]} has no gossip averager`);
        return a;
      });
    };

    // Everyone trained a shard and averaged with somebody before the cut.
    await expect
      .poll(
        async () => {
          const all = await Promise.all(labels.map((l) => swarm.averaging(l)));
          return Math.min(...all.map((a) => a?.exchanges.filter((e) => e.outcome === 'ok').length ?? 0));
        },
        { timeout: 120_000, intervals: [250] },
      )
      .toBeGreaterThanOrEqual(1);
    const nodeOf = new Map<string, string>();
    for (const s of await swarm.snapshot()) if (s.nodeId !== null) nodeOf.set(s.nodeId, s.label);
    expect(nodeOf.size).toBe(VOLUNTEERS);

    await swarm.partition(halves);
    const atCut = await averagers();
    const cutDrift = groupDistance(
      atCut.filter((_, i) => half(labels[i] as string) === 0).map((a) => a.parameters),
      atCut.filter((_, i) => half(labels[i] as string) === 1).map((a) => a.parameters),
    );
    console.log(
      `[e] ${seconds()}: partitioned ${halves[0].join('+')} | ${halves[1].join('+')} at shards ${JSON.stringify(
        (await swarm.snapshot()).map((s) => s.shardsDone),
      )}; halves ${percent(cutDrift)} apart, consensus ${percent(consensusDistance(atCut.map((a) => a.parameters)))}`,
    );

    // The partition lasts until the job's shards run out.
    await expect
      .poll(async () => (await operator.getJob(job.id)).status, { timeout: 180_000, intervals: [1_000] })
      .toBe('completed');
    await expect
      .poll(async () => (await swarm.snapshot()).every((s) => s.status === 'idle'), { timeout: 30_000 })
      .toBe(true);

    const atHeal = await averagers();
    const models = atHeal.map((a) => a.parameters);
    const sides = [0, 1].map((h) => models.filter((_, i) => half(labels[i] as string) === h));
    const healDrift = groupDistance(sides[0] ?? [], sides[1] ?? []);
    // Exchanges during the partition: none ok across the cut, some inside each half.
    const during = atHeal.map((a, i) => since(a, atCut[i]));
    const okDuring = during.map((list) => list.filter((e) => e.outcome === 'ok'));
    const across = okDuring.flatMap((list, i) =>
      list.filter(
        (e) => e.partner !== null && half(nodeOf.get(e.partner) ?? '') !== half(labels[i] as string),
      ),
    );
    console.log(
      `[e] ${seconds()}: job completed; exchanges while cut ${JSON.stringify(okDuring.map((l) => l.length))} ok, ${across.length} across; halves ${percent(healDrift)} apart, distances ${distancesToMean(models).map(percent).join(', ')}`,
    );
    expect(across.length).toBe(0);
    for (const list of okDuring) expect(list.length).toBeGreaterThanOrEqual(1);
    expect(healDrift).toBeGreaterThan(PARTITION_DRIFT);
    expect(healDrift).toBeGreaterThan(cutDrift);
    expect(consensusDistance(models)).toBeGreaterThan(PARTITION_DRIFT / 2);

    await swarm.partition(null);
    const series: number[] = [];
    for (let round = 1; round <= ROUNDS_AFTER_HEAL; round++) {
      const ran = await swarm.averageIdle(labels);
      expect(ran).toEqual(labels.map(() => true));
      series.push(consensusDistance((await averagers()).map((a) => a.parameters)));
    }
    const afterHeal = await averagers();
    const distances = distancesToMean(afterHeal.map((a) => a.parameters));
    const crossed = afterHeal.flatMap((a, i) =>
      since(a, atHeal[i]).filter(
        (e) =>
          e.outcome === 'ok' &&
          e.partner !== null &&
          half(nodeOf.get(e.partner) ?? '') !== half(labels[i] as string),
      ),
    );
    console.log(
      `[e] ${seconds()}: healed; consensus after each round ${series.map(percent).join(' → ')}; final ${distances.map(percent).join(', ')}; ${crossed.length} ok exchange sides across the old cut`,
    );
    // Each idle round is one round of each averager's own counter.
    afterHeal.forEach((a, i) => expect(a.round).toBe((atHeal[i] as HostAveraging).round + ROUNDS_AFTER_HEAL));
    for (const d of distances) expect(d).toBeLessThan(TARGET);
    expect(crossed.length).toBeGreaterThanOrEqual(2);
  } finally {
    await fleet?.stop();
    await own?.close();
  }
});
