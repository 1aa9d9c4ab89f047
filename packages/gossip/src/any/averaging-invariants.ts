/**
 * The averaging invariants (issue 13), as tests over whichever kernels do the arithmetic: the same
 * tests run on the TypeScript references in Node (averaging-invariants.test.ts) and on the WGSL
 * kernels on TensorFlow.js's WebGPU device in headless Chromium
 * (averaging-invariants.browser.test.ts). Test support: not exported from the package.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeFrame, frameValues, type GossipCodecName } from '@tabswarm/protocol';
import { FedAvgClient, type FedAvgPort } from './fedavg-client.ts';
import type { GossipKernels } from './kernels.ts';
import { consensusError, distance, mean, norm, Swarm, type SwarmOptions } from './swarm-fixture.ts';
import { randomVector } from './test-helpers.ts';

const meanDrift = (vectors: readonly Float32Array[], before: Float64Array): number =>
  distance(mean(vectors), before) / norm(before);

/** A round lost to a loaded machine is not what these measure: generous timeouts. */
const PATIENT = { exchangeTimeoutMs: 30_000 } as const;

/**
 * Defines the invariant tests on `kernels`. `afterEachTest`, if given, runs after each one (the
 * browser file checks there that the WGSL kernels, not the references, did the work).
 */
export function averagingInvariants(
  label: string,
  kernels: GossipKernels,
  afterEachTest?: () => void | Promise<void>,
): void {
  describe(`averaging invariants on ${label}`, () => {
    const swarms: Swarm[] = [];
    afterEach(async () => {
      for (const s of swarms.splice(0)) s.close();
      await afterEachTest?.();
    });
    const swarm = (options: Omit<SwarmOptions, 'kernels'>): Swarm => {
      const s = new Swarm({ ...options, kernels });
      swarms.push(s);
      return s;
    };
    const applied = (s: Swarm): number =>
      s.coordinator.exchangeReports.filter((r) => r.report.outcome === 'ok').length;

    it.each(['fp32', 'fp16', 'int8', 'topk'] as const satisfies readonly GossipCodecName[])(
      '%s: pairwise averaging preserves the mean within 1e-6 relative',
      async (codec) => {
        const s = swarm({ size: 4, elements: 10_000, averaging: { codec, topkFraction: 0.1, ...PATIENT } });
        const before = mean(s.vectors());
        const spread = consensusError(s.vectors());
        await s.run(6);
        expect(applied(s)).toBeGreaterThanOrEqual(8);
        // The models moved towards each other (so the mean was kept by averaging, not by idling;
        // sparse consensus moves slowly)…
        expect(consensusError(s.vectors())).toBeLessThan(codec === 'topk' ? 0.8 * spread : spread / 2);
        // …and their mean stayed where it was.
        expect(meanDrift(s.vectors(), before)).toBeLessThan(1e-6);
      },
    );

    it.each([
      ['int8', 0.1, 1e-5],
      ['topk', 0.25, 1e-3],
    ] as const)(
      '%s: error feedback loses no residual over 100 rounds (the pair meets at its mean)',
      async (codec, topkFraction, target) => {
        // What the codec leaves out of a frame stays in x − ĥ_mine and goes out in later frames: if
        // any of it were dropped, the pair would stop short of agreeing (or its mean would move).
        const s = swarm({ size: 2, elements: 4_000, averaging: { codec, topkFraction, ...PATIENT } });
        const before = mean(s.vectors());
        const spread = consensusError(s.vectors());
        await s.run(100);
        expect(applied(s)).toBeGreaterThanOrEqual(180);
        expect(consensusError(s.vectors()) / spread).toBeLessThan(target);
        expect(meanDrift(s.vectors(), before)).toBeLessThan(1e-6);
      },
    );

    const nan = (v: Float32Array): Float32Array => v.map((x, i) => (i === 17 ? Number.NaN : x));
    const huge = (v: Float32Array): Float32Array => v.map((x) => x * 1_000);
    // (int8 codes cannot carry a NaN: its block is coded finite, and nothing non-finite arrives.)
    it.each([
      ['NON_FINITE', 'fp32', nan],
      ['NON_FINITE', 'fp16', nan],
      ['NORM', 'fp32', huge],
      ['NORM', 'int8', huge],
    ] as const)(
      'a frame that fails a check (%s, %s) is rejected, counted against its sender and changes nothing',
      async (reason, codec, corrupt) => {
        const s = swarm({ size: 2, elements: 1_000, averaging: { codec, maxNormRatio: 10, ...PATIENT } });
        const [honest, bad] = s.nodes;
        if (honest === undefined || bad === undefined) throw new Error('no nodes');
        bad.averager.setParameters(corrupt(randomVector(1_000, 5)));
        const kept = honest.averager.current().slice();
        await s.run(1);
        const rejected = s.coordinator.exchangeReports
          .map((r) => r.report)
          .filter((r) => r.outcome === 'rejected');
        expect(rejected.map((r) => r.reason)).toContain(reason);
        const link = honest.mesh.links().find((l) => l.peer === bad.id);
        expect(link?.rejected[reason] ?? 0).toBeGreaterThan(0);
        expect(honest.averager.current()).toEqual(kept);
      },
    );

    it("FedAvg: a round's average becomes the outer step's θ, and the training since the upload is kept", async () => {
      // The coordinator stand-in answers every upload with half of it.
      const port: FedAvgPort = {
        upload(frame) {
          const decoded = decodeFrame(frame);
          if (!decoded.ok) throw new Error(decoded.message);
          const values = frameValues(decoded).map((v) => v / 2);
          return Promise.resolve({ ok: true, round: 1, participants: 2, values });
        },
      };
      const outer = { syncEvery: 1, learningRate: 0.5, momentum: 0.9 };
      const client = new FedAvgClient({ port, jobId: 'job-1', nodeId: 'v1', outer, kernels });
      const start = randomVector(1_000, 9);
      const params = start.slice();
      await client.afterShard(params, 64); // θ = start; uploads start, the round answers start / 2
      for (let i = 0; i < params.length; i++) params[i] = (params[i] as number) + 0.125; // trained meanwhile
      await client.settle();
      await client.afterShard(params, 64);
      // g = θ − x̄ = start / 2, v = g, θ ← θ − η(g + μv) = start·(1 − 0.5·0.5·1.9) = 0.525·start;
      // then the 0.125 trained since the upload.
      let worst = 0;
      for (let i = 0; i < params.length; i++)
        worst = Math.max(worst, Math.abs((params[i] as number) - (0.525 * (start[i] as number) + 0.125)));
      expect(worst).toBeLessThan(1e-6);
      expect(client.outer?.syncs).toBe(1);
      await client.settle();
    });
  });
}
