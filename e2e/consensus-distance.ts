/**
 * Consensus distance over volunteers' parameter vectors, for the averaging scenarios: each
 * volunteer's ‖xᵢ − x̄‖ / ‖x̄‖ against the swarm's mean x̄, and the swarm's as the largest of them.
 * (The coordinator's consensus curve is the partners' pairwise ‖mine − theirs‖ / ‖mine‖ reported
 * per exchange; a fleet that does not average reports none, so the scenarios measure the models.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnCoordinator, type SpawnedCoordinator } from '../server/src/spawn-coordinator.ts';
import { OperatorClient } from '../packages/virtual/src/index.ts';
import type { JobSpecInput } from '../packages/protocol/src/index.ts';

export function mean(vectors: readonly Float32Array[]): Float64Array {
  const first = vectors[0];
  if (first === undefined) throw new RangeError('no vectors');
  const m = new Float64Array(first.length);
  for (const v of vectors) {
    if (v.length !== m.length) throw new RangeError(`vectors of ${v.length} and ${m.length} elements`);
    for (let i = 0; i < v.length; i++) m[i] = (m[i] as number) + (v[i] as number);
  }
  for (let i = 0; i < m.length; i++) m[i] = (m[i] as number) / vectors.length;
  return m;
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] as number) ** 2;
  return Math.sqrt(s);
}

/** ‖a − b‖ / ‖reference‖. */
export function relativeDistance(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  reference: ArrayLike<number>,
): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(s) / norm(reference);
}

/** Each volunteer's ‖xᵢ − x̄‖ / ‖x̄‖, in the order given. */
export function distancesToMean(vectors: readonly Float32Array[]): number[] {
  const m = mean(vectors);
  return vectors.map((v) => relativeDistance(v, m, m));
}

/** The swarm's consensus distance: the largest ‖xᵢ − x̄‖ / ‖x̄‖. */
export function consensusDistance(vectors: readonly Float32Array[]): number {
  return Math.max(...distancesToMean(vectors));
}

/** ‖x̄_A − x̄_B‖ / ‖x̄‖: how far two groups' means are apart, relative to everyone's mean. */
export function groupDistance(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  return relativeDistance(mean(a), mean(b), mean([...a, ...b]));
}

export const percent = (x: number): string => `${(100 * x).toFixed(2)} %`;

/**
 * The consensus scenarios' job: mnist-mlp in gossip mode, 1 epoch of 63 shards (32 × 4 of the
 * 8,000 training digits: about 16 for each of 4 volunteers), no target (every shard runs).
 */
export const smallGossipJob = (name: string): JobSpecInput => ({
  name,
  model: { kind: 'preset', preset: 'mnist-mlp' },
  dataset: 'mnist',
  training: {
    optimizer: { type: 'adam' },
    learningRate: 0.003,
    batchSize: 32,
    localSteps: 4,
    epochs: 1,
    seed: 1,
  },
  averaging: { mode: 'gossip', schedule: 'exponential', codec: 'fp32', exchangeTimeoutMs: 5_000 },
  checkpoint: { everyShards: 20, contributors: 2 },
});

/** A coordinator process of its own (data in a temporary folder) and its operator client. */
export interface OwnCoordinator {
  readonly coordinator: SpawnedCoordinator;
  readonly operator: OperatorClient;
  close(): Promise<void>;
}

export async function ownCoordinator(name: string): Promise<OwnCoordinator> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `tabswarm-${name}-`));
  let coordinator: SpawnedCoordinator;
  try {
    coordinator = await spawnCoordinator({
      dataDir,
      args: ['--heartbeat-interval-ms', '1000', '--heartbeat-timeout-ms', '15000'],
      env: { LOG_LEVEL: 'warn' },
    });
  } catch (error) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const operator = new OperatorClient(
    coordinator.url,
    fs.readFileSync(path.join(dataDir, 'operator-token'), 'utf8').trim(),
  );
  return {
    coordinator,
    operator,
    async close() {
      coordinator.child.kill('SIGKILL');
      await coordinator.exited;
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
