/**
 * A virtual volunteer: the tab's own classes in Node. The shared volunteer wiring (VolunteerRuntime:
 * the lease loop, the coordinator connection over socket.io, heartbeats, self-test) drives a
 * LocalCompute (TensorFlow.js on WebAssembly, or the CPU) in a worker thread as the tab's runs in
 * a Web Worker (or in-process), and the same gossip averaging (SwarmAveraging over a GossipMesh) with an in-memory network instead
 * of WebRTC; membership, the relay and the exchange reports go through the real coordinator.
 * Faults a simulation injects (kill, offline, blocked peers, slowdown) act on those same parts.
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
  HttpCoordinatorApi,
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
import { slowedCompute } from './slowed-compute.ts';

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
  /**
   * Every HTTP request it makes — the coordinator's API, checkpoint and FedAvg uploads, shard
   * downloads — goes through this fetch (an attacker's wire: adversary.ts). In-process compute
   * only: a compute thread downloads its shards itself.
   */
  readonly fetch?: typeof fetch;
  /** Wraps its compute (e.g. lazy-compute.ts: a volunteer that reports shards without training). */
  readonly wrapCompute?: (compute: ComputePort) => ComputePort;
}

/** How a virtual volunteer stands, for fleets and simulation reports. */
export type VirtualStatus = 'starting' | 'training' | 'idle' | 'offline' | 'killed' | 'stopped';

export interface VirtualVolunteerState {
  readonly status: VirtualStatus;
  readonly samplesPerSec: number | null;
  readonly shardsDone: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly rejectedFrames: number;
  readonly exchangesApplied: number;
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
  #slowdown = 1;
  #fault: 'offline' | 'killed' | 'stopped' | null = null;
  /** Peers blocked before the mesh existed (or on an earlier mesh): applied to each new one. */
  #blocked = new Set<string>();
  /** The gossip averager of the job it averages (the latest one made), or null. */
  #averager: GossipAverager | null = null;

  constructor(options: VirtualVolunteerOptions) {
    this.#options = options;
    this.label = options.label ?? 'virtual';
    const backend = options.backend ?? 'wasm';
    const doFetch = options.fetch;
    if (doFetch !== undefined && options.compute !== 'in-process')
      throw new Error('a virtual volunteer with its own fetch needs compute: in-process');
    this.runtime = new VolunteerRuntime({
      baseUrl: options.baseUrl,
      createCompute: () => {
        const compute =
          options.compute === 'in-process'
            ? new LocalCompute({
                cache: new MemoryShardCache(),
                ...(doFetch === undefined ? {} : { shards: { fetch: doFetch } }),
                backend: {
                  skip: {
                    webgl: 'no WebGL in Node',
                    ...(backend === 'cpu' ? { wasm: 'this virtual volunteer runs on the CPU backend' } : {}),
                  },
                },
              })
            : threadCompute({ cpu: backend === 'cpu' });
        const slowed = slowedCompute(compute, () => this.#slowdown);
        this.#compute = options.wrapCompute === undefined ? slowed : options.wrapCompute(slowed);
        return this.#compute;
      },
      ...(doFetch === undefined ? {} : { api: new HttpCoordinatorApi(options.baseUrl, { fetch: doFetch }) }),
      userAgent: `tabswarm-virtual/${this.label} Node ${process.version}`,
      trainer: { calibrationSteps: 2, ...options.trainer },
      ...(options.averaging === false
        ? {}
        : {
            averaging: (rt: VolunteerRuntime) =>
              volunteerAveraging(rt, {
                baseUrl: options.baseUrl,
                ...(doFetch === undefined ? {} : { fetch: doFetch }),
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

  /** The gossip averager of the job it averages, or null (averaging off, FedAvg, before its first shard). */
  get averager(): GossipAverager | null {
    return this.#averager;
  }

  /**
   * One gossip round with no training: what the trainer does after a shard (read the parameters,
   * let the averager add the exchanges it answered meanwhile and run one exchange, write the result
   * back), for a shard of zero steps. Only while no lease is held (the job is over, or training is
   * paused), so no shard's parameters race the write; false when it has no averager to run.
   */
  async averageIdle(): Promise<boolean> {
    const averager = this.#averager;
    const compute = this.#compute;
    if (averager === null || compute === null) return false;
    if (this.trainer.status.lease !== null) throw new Error(`${this.label} holds a lease: not idle`);
    const snapshot = await compute.parameters();
    if (snapshot === null || snapshot.jobId !== averager.jobId) return false;
    await averager.afterShard(snapshot.values);
    await compute.setParameters(snapshot);
    return true;
  }

  averaging(): AveragingSummary {
    return { applied: this.#results.filter((r) => r.outcome === 'ok').length, results: [...this.#results] };
  }

  async stop(): Promise<void> {
    if (this.#fault !== 'killed') this.#fault = 'stopped';
    await this.runtime.stop();
    this.#mesh?.close();
    this.#mesh = null;
  }

  /**
   * Dies without a goodbye, as a closed tab: its peer links go silent, its socket closes with no
   * lease released and no leave sent; the coordinator finds out the way it does for a tab.
   */
  async kill(): Promise<void> {
    if (this.#fault === 'killed' || this.#fault === 'stopped') return;
    this.#fault = 'killed';
    if (this.nodeId !== null) this.#options.network.kill(this.nodeId);
    this.runtime.connection?.stop();
    await this.runtime.stop(0);
    this.#mesh?.close();
    this.#mesh = null;
  }

  /**
   * Offline: no coordinator traffic (the socket closes) and no peer traffic (its links go silent);
   * back online it reconnects and resumes as the same node.
   */
  setOffline(offline: boolean): void {
    if (this.#fault === 'killed' || this.#fault === 'stopped') return;
    if (offline === (this.#fault === 'offline')) return;
    this.#fault = offline ? 'offline' : null;
    const nodeId = this.nodeId;
    const socket = this.runtime.connection?.socket;
    if (offline) {
      if (nodeId !== null) this.#options.network.kill(nodeId);
      socket?.disconnect();
    } else {
      if (nodeId !== null) this.#options.network.revive(nodeId);
      socket?.connect();
    }
  }

  /** Blocks peer traffic with these node ids, direct and relayed, until unblockAll. */
  blockPeers(nodeIds: readonly string[]): void {
    for (const id of nodeIds) this.#blocked.add(id);
    this.#mesh?.mesh.blockPeers(nodeIds);
  }

  unblockAll(): void {
    this.#blocked.clear();
    this.#mesh?.mesh.unblockAll();
  }

  /** Each shard takes `factor` times as long from now on (1: full speed). */
  setSlowdown(factor: number): void {
    this.#slowdown = Number.isFinite(factor) ? Math.max(1, factor) : 1;
  }

  /** What it is doing and what its links carried. */
  state(): VirtualVolunteerState {
    const status = this.trainer.status;
    let bytesSent = 0;
    let bytesReceived = 0;
    let rejectedFrames = 0;
    for (const link of this.#mesh?.mesh.links() ?? []) {
      bytesSent += link.bytesOut;
      bytesReceived += link.bytesIn;
      for (const n of Object.values(link.rejected)) rejectedFrames += n;
    }
    const phase = status.phase;
    const live: VirtualStatus =
      phase === 'training' || phase === 'calibrating'
        ? 'training'
        : phase === 'idle' || phase === 'paused'
          ? 'idle'
          : phase === 'stopped' || phase === 'failed'
            ? 'stopped'
            : 'starting';
    return {
      status: this.#fault ?? live,
      samplesPerSec: status.samplesPerSec,
      shardsDone: status.shardsDone,
      bytesSent,
      bytesReceived,
      rejectedFrames,
      exchangesApplied: this.#results.filter((r) => r.outcome === 'ok').length,
    };
  }

  #follow(averager: GossipAverager): void {
    this.#averager = averager;
    averager.onExchange((result) => this.#results.push(result));
  }

  /** One mesh per node id: the coordinator's membership and relay, direct links on the memory network. */
  #ensureMesh(accepted: JoinAccepted, connection: CoordinatorConnection): void {
    if (this.#mesh?.mesh.nodeId === accepted.nodeId) return;
    this.#mesh?.close();
    const port = socketCoordinatorPort(connection.socket, accepted.nodeId, { members: this.#peers });
    const connector = this.#options.network.connector(accepted.nodeId);
    const mesh = new GossipMesh({ ...this.#options.mesh, coordinator: port, connector });
    if (this.#blocked.size > 0) mesh.blockPeers(this.#blocked);
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
