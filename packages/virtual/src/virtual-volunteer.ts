/**
 * A virtual volunteer: the tab's own classes in Node. The shared volunteer wiring (VolunteerRuntime:
 * the lease loop, the coordinator connection over socket.io, heartbeats, self-test) drives a
 * LocalCompute (TensorFlow.js on WebAssembly, or the CPU) in a worker thread as the tab's runs in
 * a Web Worker (or in-process), and the same gossip averaging (SwarmAveraging over a GossipMesh) with an in-memory network instead
 * of WebRTC; membership, the relay and the exchange reports go through the real coordinator.
 */
import {
  GossipMesh,
  socketCoordinatorPort,
  volunteerAveraging,
  type ExchangeResult,
  type GossipAverager,
  type GossipMeshOptions,
  type MemoryNetwork,
} from '@tabswarm/gossip';
import { referenceKernels } from '@tabswarm/gossip/kernel-library';
import {
  LocalCompute,
  MemoryShardCache,
  VolunteerRuntime,
  type BackendInfo,
  type ComputePort,
  type CoordinatorConnection,
  type VolunteerRuntimeOptions,
  type VolunteerTrainer,
} from '@tabswarm/trainer';
import type { JoinAccepted } from '@tabswarm/protocol';
import { threadCompute } from './compute-thread.ts';

export type VirtualBackend = 'wasm' | 'cpu';

export interface VirtualVolunteerOptions {
  /** The coordinator's origin, e.g. http://127.0.0.1:PORT. */
  readonly baseUrl: string;
  /** The in-memory network the virtual volunteers link over directly (their WebRTC). */
  readonly network: MemoryNetwork;
  /** TensorFlow.js's backend; WebAssembly by default. */
  readonly backend?: VirtualBackend;
  /**
   * Where the compute runs: its own worker thread (default, as the tab's Web Worker; its own
   * TensorFlow.js), or this thread. TensorFlow.js has one active backend per thread: in-process
   * volunteers next to an in-process coordinator (which evaluates on 'cpu') must use 'cpu' too,
   * or the two switch it under each other.
   */
  readonly compute?: 'thread' | 'in-process';
  /** Average after every shard by the job's mode (default true); false trains alone (a control). */
  readonly averaging?: boolean;
  readonly mesh?: Partial<Omit<GossipMeshOptions, 'coordinator' | 'connector'>>;
  readonly trainer?: VolunteerRuntimeOptions['trainer'];
  readonly label?: string;
}

/** What a virtual volunteer's averaging did, from its averagers' own counters and results. */
export interface AveragingSummary {
  /** Exchanges whose average both sides applied. */
  readonly applied: number;
  /** Every exchange result, in order (ok, busy, refused, timeouts…). */
  readonly results: readonly ExchangeResult[];
}

export class VirtualVolunteer {
  readonly runtime: VolunteerRuntime;
  readonly label: string;
  readonly #options: VirtualVolunteerOptions;
  readonly #results: ExchangeResult[] = [];
  #compute: ComputePort | null = null;
  /** The membership the coordinator last announced (it may come before the join is acknowledged). */
  #peers: readonly string[] = [];
  #mesh: { readonly mesh: GossipMesh; close(): void } | null = null;

  constructor(options: VirtualVolunteerOptions) {
    this.#options = options;
    this.label = options.label ?? 'virtual';
    const backend = options.backend ?? 'wasm';
    this.runtime = new VolunteerRuntime({
      baseUrl: options.baseUrl,
      createCompute: () => {
        this.#compute =
          options.compute === 'in-process'
            ? new LocalCompute({
                cache: new MemoryShardCache(),
                backend: {
                  skip: {
                    webgl: 'no WebGL in Node',
                    ...(backend === 'cpu' ? { wasm: 'this virtual volunteer runs on the CPU backend' } : {}),
                  },
                },
              })
            : threadCompute({ cpu: backend === 'cpu' });
        return this.#compute;
      },
      userAgent: `tabswarm-virtual/${this.label} Node ${process.version}`,
      trainer: { calibrationSteps: 2, ...options.trainer },
      ...(options.averaging === false
        ? {}
        : {
            averaging: (rt: VolunteerRuntime) =>
              volunteerAveraging(rt, {
                baseUrl: options.baseUrl,
                mesh: () => this.#mesh?.mesh ?? null,
                kernels: referenceKernels,
                onAverager: (averager) => this.#follow(averager),
              }),
          }),
      hooks: {
        onPeers: (peers) => {
          this.#peers = peers.map((p) => p.nodeId);
        },
        onJoined: (accepted, connection) => this.#ensureMesh(accepted, connection),
      },
    });
  }

  get trainer(): VolunteerTrainer {
    return this.runtime.trainer;
  }

  get nodeId(): string | null {
    return this.runtime.nodeId;
  }

  /** Starts the compute and joins; training starts after the self-test. */
  start(): Promise<BackendInfo> {
    return this.runtime.start();
  }

  /** The current flat parameters of the job the compute holds, or null. */
  async parameters(): Promise<Float32Array | null> {
    return (await this.#compute?.parameters())?.values ?? null;
  }

  averaging(): AveragingSummary {
    return { applied: this.#results.filter((r) => r.outcome === 'ok').length, results: [...this.#results] };
  }

  async stop(): Promise<void> {
    await this.runtime.stop();
    this.#mesh?.close();
    this.#mesh = null;
  }

  #follow(averager: GossipAverager): void {
    averager.onExchange((result) => this.#results.push(result));
  }

  /** One mesh per node id: the coordinator's membership and relay, direct links on the memory network. */
  #ensureMesh(accepted: JoinAccepted, connection: CoordinatorConnection): void {
    if (this.#mesh?.mesh.nodeId === accepted.nodeId) return;
    this.#mesh?.close();
    const port = socketCoordinatorPort(connection.socket, accepted.nodeId, { members: this.#peers });
    const connector = this.#options.network.connector(accepted.nodeId);
    const mesh = new GossipMesh({ ...this.#options.mesh, coordinator: port, connector });
    this.#mesh = {
      mesh,
      close: () => {
        mesh.close();
        connector.close();
        port.close();
      },
    };
  }
}
