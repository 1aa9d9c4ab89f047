/** Test fixture: a swarm of averagers on an in-memory network and coordinator, and consensus maths. */
import { l2Norm } from '@tabswarm/core';
import type { AveragingSettings, GossipAveragerOptions } from './averager.ts';
import { GossipAverager } from './averager.ts';
import { MemoryNetwork, type MemoryNetworkOptions } from './connector.ts';
import type { GossipKernels } from './kernels.ts';
import { basicKernels } from './kernels.ts';
import { MemoryCoordinator, type MemoryCoordinatorOptions } from './memory-coordinator.ts';
import { GossipMesh, type GossipMeshOptions } from './mesh.ts';
import { randomVector } from './test-helpers.ts';

export interface SwarmNode {
  readonly id: string;
  readonly mesh: GossipMesh;
  readonly averager: GossipAverager;
}

export interface SwarmOptions {
  readonly size: number;
  readonly elements: number;
  readonly averaging?: Partial<AveragingSettings>;
  readonly kernels?: GossipKernels;
  readonly network?: MemoryNetworkOptions;
  readonly coordinator?: MemoryCoordinatorOptions;
  readonly mesh?: Partial<GossipMeshOptions>;
  readonly averager?: Partial<GossipAveragerOptions>;
  /** Nodes (by index) that refuse direct links: they can only be reached through the relay. */
  readonly refuseDirect?: readonly number[];
  readonly seed?: number;
}

export const DEFAULT_SETTINGS: AveragingSettings = {
  schedule: 'exponential',
  codec: 'fp32',
  topkFraction: 0.01,
  exchangeTimeoutMs: 2_000,
  maxNormRatio: 10,
};

export class Swarm {
  readonly network: MemoryNetwork;
  readonly coordinator: MemoryCoordinator;
  readonly nodes: SwarmNode[] = [];

  constructor(readonly options: SwarmOptions) {
    this.network = new MemoryNetwork({ bytesPerTick: 1 << 20, ...options.network });
    this.coordinator = new MemoryCoordinator(options.coordinator);
    for (let i = 0; i < options.size; i++) this.add(i);
  }

  add(i: number, initial?: Float32Array): SwarmNode {
    const id = `node${String(i).padStart(3, '0')}`;
    const port = this.coordinator.join(id);
    const mesh = new GossipMesh({
      coordinator: port,
      connector: this.network.connector(id, {
        refuseDirect: this.options.refuseDirect?.includes(i) ?? false,
      }),
      reportIntervalMs: 0,
      heartbeatIntervalMs: 200,
      ...this.options.mesh,
    });
    const averager = new GossipAverager({
      mesh,
      jobId: 'job-test',
      averaging: { ...DEFAULT_SETTINGS, ...this.options.averaging },
      kernels: this.options.kernels ?? basicKernels,
      initial: initial ?? randomVector(this.options.elements, (this.options.seed ?? 1) * 1000 + i + 1),
      lockstep: true,
      ...this.options.averager,
    });
    const node = { id, mesh, averager };
    this.nodes.push(node);
    return node;
  }

  /** Every live node runs `rounds` rounds concurrently. */
  async run(rounds: number, nodes: readonly SwarmNode[] = this.nodes): Promise<void> {
    await Promise.all(
      nodes.map(async (node) => {
        for (let r = 0; r < rounds; r++) await node.averager.runRound();
      }),
    );
  }

  vectors(nodes: readonly SwarmNode[] = this.nodes): Float32Array[] {
    return nodes.map((n) => n.averager.current());
  }

  close(): void {
    for (const node of this.nodes) {
      node.averager.close();
      node.mesh.close();
    }
  }
}

export function mean(vectors: readonly Float32Array[]): Float64Array {
  const n = vectors[0]?.length ?? 0;
  const out = new Float64Array(n);
  for (const v of vectors)
    for (let i = 0; i < n; i++) out[i] = (out[i] as number) + (v[i] as number) / vectors.length;
  return out;
}

export const norm = l2Norm;

export function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(s);
}

/** max over nodes of ‖xᵢ − x̄‖ / ‖x̄‖. */
export function consensusError(vectors: readonly Float32Array[]): number {
  const m = mean(vectors);
  return Math.max(...vectors.map((v) => distance(v, m))) / norm(m);
}
