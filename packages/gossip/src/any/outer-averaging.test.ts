// Gossip with the outer optimizer (averaging.outer), in-memory: nodes call afterShard as trainers do,
// exchange only every syncEvery shards, and take the outer step from each exchange's average.
import { afterEach, describe, expect, it } from 'vitest';
import { referenceKernels } from './kernel-library.ts';
import { consensusError, mean, Swarm, type SwarmNode, type SwarmOptions } from './swarm-fixture.ts';
import { randomVector } from './test-helpers.ts';

const swarms: Swarm[] = [];
afterEach(() => {
  for (const swarm of swarms.splice(0)) swarm.close();
});

function swarm(options: SwarmOptions): Swarm {
  const s = new Swarm({ ...options, kernels: referenceKernels, averager: { lockstep: false } });
  swarms.push(s);
  return s;
}

/** The rounds in which a node initiated exchanges (retries of a busy partner are one round). */
const initiated = (s: Swarm, node: SwarmNode): number =>
  new Set(
    s.coordinator.exchangeReports
      .filter((r) => r.nodeId === node.id && r.report.role === 'initiator')
      .map((r) => r.report.round),
  ).size;

/** Every node trains `shards` shards (a seeded move each) with afterShard between; the total moves. */
async function train(s: Swarm, shards: number, moveScale: number): Promise<Float64Array> {
  const n = s.options.elements;
  const moved = new Float64Array(n);
  await Promise.all(
    s.nodes.map(async (node, k) => {
      for (let shard = 0; shard < shards; shard++) {
        const params = node.averager.current().slice();
        const move = randomVector(n, 1000 * k + shard + 7);
        for (let i = 0; i < n; i++) {
          const step = (move[i] as number) * moveScale;
          params[i] = (params[i] as number) + step;
          moved[i] = (moved[i] as number) + step;
        }
        await node.averager.afterShard(params);
      }
    }),
  );
  return moved;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};

describe('gossip with the outer optimizer', () => {
  it.each(['fp32', 'int8', 'topk'] as const)(
    '%s: exchanges only every syncEvery shards, and with η = 1, μ = 0 the swarm’s mean is what training moved',
    async (codec) => {
      const s = swarm({
        size: 4,
        elements: 5_000,
        averaging: { codec, topkFraction: 0.1, outer: { syncEvery: 4, learningRate: 1, momentum: 0 } },
      });
      const before = mean(s.vectors());
      const moved = await train(s, 12, 0.01);
      for (const node of s.nodes) {
        // 12 shards, syncEvery 4: three synchronisations initiated at most.
        expect(initiated(s, node)).toBeGreaterThan(0);
        expect(initiated(s, node)).toBeLessThanOrEqual(3);
        expect(node.averager.outer?.shards).toBe(12);
      }
      // Every committed exchange was a synchronisation on both sides.
      const ok = s.coordinator.exchangeReports.filter((r) => r.report.outcome === 'ok');
      expect(ok.length).toBeGreaterThan(0);
      const syncs = s.nodes.map((node) => node.averager.outer?.syncs ?? 0);
      expect(syncs.reduce((a, b) => a + b, 0)).toBe(ok.length);
      const want = before.map((v, i) => v + (moved[i] as number) / s.nodes.length);
      expect(maxAbsDiff(mean(s.vectors()), want)).toBeLessThan(1e-5);
    },
  );

  it('without training, repeated synchronisations bring the swarm to one model (fp32 and int8)', async () => {
    for (const codec of ['fp32', 'int8'] as const) {
      const s = swarm({
        size: 4,
        elements: 5_000,
        averaging: { codec, outer: { syncEvery: 1, learningRate: 1, momentum: 0 } },
      });
      const start = consensusError(s.vectors());
      await train(s, 8, 0);
      const end = consensusError(s.vectors());
      expect(start).toBeGreaterThan(0.5);
      expect(end).toBeLessThan(0.05 * start);
    }
  });

  it('int8 synchronisations cost about a quarter of fp32 ones', async () => {
    const bytes = async (codec: 'fp32' | 'int8'): Promise<number> => {
      const s = swarm({
        size: 4,
        elements: 20_000,
        averaging: { codec, outer: { syncEvery: 2, learningRate: 0.7, momentum: 0.9 } },
      });
      await train(s, 4, 0.01);
      const ok = s.coordinator.exchangeReports.filter((r) => r.report.outcome === 'ok');
      return ok.reduce((sum, r) => sum + r.report.bytesOut, 0) / ok.length;
    };
    const [fp32, int8] = [await bytes('fp32'), await bytes('int8')];
    expect(int8 / fp32).toBeGreaterThan(0.2);
    expect(int8 / fp32).toBeLessThan(0.3);
  });
});
