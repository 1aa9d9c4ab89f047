/**
 * The trainer's averaging hook: after every shard, average the job's parameters by the job's
 * mode — gossip with peers (GossipAverager over this tab's mesh) or FedAvg through the
 * coordinator (FedAvgClient) — or, with the job's outer optimizer, every `syncEvery` shards. It
 * matches packages/trainer's AveragingHook structurally, so the volunteer page passes it as
 * `averaging` without either package importing the other.
 */
import type { AveragingSpec, JoinAccepted } from '@tabswarm/protocol';
import { GossipAverager } from './averager.ts';
import { FedAvgClient, httpFedAvgPort, type FedAvgPort } from './fedavg-client.ts';
import type { GossipKernels } from './kernels.ts';
import type { GossipMesh } from './mesh.ts';

/** The parameters after a shard, wherever they live (the trainer's ShardParameters). */
export interface ShardParameterAccess {
  readonly jobId: string;
  read(): Promise<Float32Array>;
  write(values: Float32Array): Promise<void>;
}

/** What the hook needs of the trainer's context: the lease (its sample range) and the abort signal. */
export interface ShardHookContext {
  readonly lease: { readonly jobId: string; readonly start: number; readonly end: number };
  readonly signal: AbortSignal;
}

export interface SwarmAveragingOptions {
  /**
   * This tab's mesh (one per tab, shared by every job it trains), or a getter when it is made
   * later (after join) or replaced (a new node id): shards done without one are not averaged.
   */
  readonly mesh: GossipMesh | (() => GossipMesh | null);
  readonly kernels: GossipKernels;
  /** The averaging settings of a job (the job spec's `averaging`), or undefined when unknown. */
  readonly averaging: (jobId: string) => AveragingSpec | undefined;
  /** FedAvg uploads for a job (httpFedAvgPort); without it, FedAvg jobs are not averaged. */
  readonly fedAvgPort?: (jobId: string) => FedAvgPort;
  /** Called with each gossip averager created (to subscribe to its exchange results, for the UI). */
  readonly onAverager?: (averager: GossipAverager) => void;
}

export class SwarmAveraging {
  readonly #options: SwarmAveragingOptions;
  #gossip: GossipAverager | null = null;
  #gossipMesh: GossipMesh | null = null;
  #fedavg: { jobId: string; client: FedAvgClient } | null = null;

  constructor(options: SwarmAveragingOptions) {
    this.#options = options;
  }

  /** The FedAvg client of the current job, if it averages by FedAvg. */
  get fedAvg(): FedAvgClient | null {
    return this.#fedavg?.client ?? null;
  }

  /** The gossip averager of the current job, if it averages by gossip. */
  get averager(): GossipAverager | null {
    return this.#gossip;
  }

  async afterShard(params: ShardParameterAccess, context: ShardHookContext): Promise<void> {
    const spec = this.#options.averaging(params.jobId);
    const mesh = typeof this.#options.mesh === 'function' ? this.#options.mesh() : this.#options.mesh;
    if (spec === undefined || mesh === null || context.signal.aborted) return;
    const samples = Math.max(1, context.lease.end - context.lease.start);
    // With the outer optimizer, most shards change nothing: the parameters stay in the worker.
    if (this.#skips(mesh, params.jobId, samples)) return;
    const values = await params.read();
    if (spec.mode === 'gossip') {
      const averager = this.#gossipFor(mesh, params.jobId, spec, values);
      await averager.afterShard(values);
    } else {
      const port = this.#options.fedAvgPort;
      if (port === undefined) return;
      if (this.#fedavg?.jobId !== params.jobId) {
        this.#fedavg = {
          jobId: params.jobId,
          client: new FedAvgClient({
            port: port(params.jobId),
            jobId: params.jobId,
            nodeId: mesh.nodeId,
            kernels: this.#options.kernels,
            ...(spec.outer === undefined ? {} : { outer: spec.outer }),
          }),
        };
      }
      await this.#fedavg.client.afterShard(values, samples);
    }
    if (!context.signal.aborted) await params.write(values);
  }

  close(): void {
    this.#gossip?.close();
    this.#gossip = null;
    this.#fedavg = null;
  }

  /** True when the current job's averager or FedAvg client counted this shard as one it skips. */
  #skips(mesh: GossipMesh, jobId: string, samples: number): boolean {
    const gossip = this.#gossip;
    if (gossip !== null && gossip.jobId === jobId && this.#gossipMesh === mesh) return gossip.skipShard();
    const fedavg = this.#fedavg;
    return fedavg !== null && fedavg.jobId === jobId && fedavg.client.skipShard(samples);
  }

  #gossipFor(mesh: GossipMesh, jobId: string, spec: AveragingSpec, values: Float32Array): GossipAverager {
    const current = this.#gossip;
    if (
      current !== null &&
      this.#gossipMesh === mesh &&
      current.jobId === jobId &&
      current.current().length === values.length
    ) {
      return current;
    }
    current?.close();
    this.#gossipMesh = mesh;
    const averager = new GossipAverager({
      mesh,
      jobId,
      averaging: spec,
      kernels: this.#options.kernels,
      initial: values,
    });
    this.#gossip = averager;
    this.#options.onAverager?.(averager);
    return averager;
  }
}

/** What a volunteer runtime tells its averaging: each job's settings and this node's identity. */
export interface AveragingRuntime {
  averagingOf(jobId: string): AveragingSpec | undefined;
  readonly accepted: JoinAccepted | null;
}

/**
 * A volunteer's averaging after every shard, by the job's mode: gossip over its mesh, or FedAvg
 * through the coordinator at `baseUrl`, authenticated as the node the runtime joined as.
 */
export function volunteerAveraging(
  runtime: AveragingRuntime,
  options: Pick<SwarmAveragingOptions, 'mesh' | 'kernels' | 'onAverager'> & {
    readonly baseUrl: string;
    /** The FedAvg uploads' fetch (default: the global one). */
    readonly fetch?: typeof fetch;
  },
): SwarmAveraging {
  const { baseUrl, fetch: doFetch, ...rest } = options;
  return new SwarmAveraging({
    ...rest,
    averaging: (jobId) => runtime.averagingOf(jobId),
    fedAvgPort: (jobId) =>
      httpFedAvgPort({
        baseUrl,
        jobId,
        nodeId: runtime.accepted?.nodeId ?? '',
        sessionToken: () => runtime.accepted?.peerjs.token ?? '',
        ...(doFetch === undefined ? {} : { fetch: doFetch }),
      }),
  });
}
