/**
 * Simulated volunteers for the dashboard tests: server/src/sim/sim-volunteer.ts (a real socket.io
 * volunteer client in Node) driven in loops — lease, "train" for a moment, complete with a falling
 * loss — and heartbeats that carry health, so the dashboard has throughput, shards and leases to show.
 */
import type {
  Heartbeat,
  LeaseGrantInfo,
  VolunteerClientToServer,
  VolunteerServerToClient,
} from '@tabswarm/protocol';
import type { Socket } from 'socket.io-client';

/** What these tests use of SimVolunteer. */
export interface SimVolunteerLike {
  readonly socket: Socket<VolunteerServerToClient, VolunteerClientToServer>;
  readonly nodeId: string;
  join(): Promise<unknown>;
  lease(samplesPerSec?: number): Promise<LeaseGrantInfo | null>;
  complete(lease: LeaseGrantInfo, loss?: number): Promise<{ counted: boolean; duplicate: boolean }>;
  close(): void;
}
type SimVolunteerClass = new (url: string) => SimVolunteerLike;

/**
 * server/ is not a reference of tsconfig.tools.json, so a static import of its source would put the
 * file outside the e2e TypeScript project; loading it by URL keeps the type check to the shape above.
 */
export async function loadSimVolunteer(): Promise<SimVolunteerClass> {
  const url = new URL('../server/src/sim/sim-volunteer.ts', import.meta.url).href;
  const mod = (await import(url)) as { SimVolunteer: SimVolunteerClass };
  return mod.SimVolunteer;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface SimWorkerOptions {
  /** How long one shard "takes". */
  readonly shardMs: number;
  /** Claimed throughput, in samples/s. */
  readonly samplesPerSec: number;
  readonly heartbeatMs: number;
}

/** One simulated volunteer that works until stopped. */
export class SimWorker {
  shardsDone = 0;
  lastLoss: number | null = null;
  lease: LeaseGrantInfo | null = null;
  leaseIssuedAt = 0;
  /** Report the held lease as issued this much earlier than it was: a slow volunteer. */
  straggleMs = 0;
  private stopped = false;
  private working: Promise<void> = Promise.resolve();
  private beat: ReturnType<typeof setInterval> | undefined;
  private readonly started = Date.now();

  constructor(
    readonly sim: SimVolunteerLike,
    private readonly options: SimWorkerOptions,
  ) {}

  get nodeId(): string {
    return this.sim.nodeId;
  }

  async join(): Promise<void> {
    await this.sim.join();
    await this.heartbeat();
    this.beat = setInterval(() => void this.heartbeat().catch(() => undefined), this.options.heartbeatMs);
  }

  /** Leases and completes shards until stopped, with a loss that falls as it goes. */
  startWorking(): void {
    this.working = this.loop();
  }

  /** Takes one lease and keeps it (to be finished with `finishHeld`). */
  async holdLease(): Promise<LeaseGrantInfo | null> {
    this.lease = await this.sim.lease(this.options.samplesPerSec);
    this.leaseIssuedAt = Date.now();
    await this.heartbeat();
    return this.lease;
  }

  async finishHeld(): Promise<void> {
    const lease = this.lease;
    if (lease === null) return;
    this.lease = null;
    this.straggleMs = 0;
    await this.sim.complete(lease, this.loss()).catch(() => undefined);
    this.shardsDone += 1;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.beat);
    await this.working.catch(() => undefined);
    this.sim.close();
  }

  heartbeat(): Promise<unknown> {
    const lease = this.lease;
    const health: NonNullable<Heartbeat['health']> = {
      backend: 'cpu',
      samplesPerSec: this.options.samplesPerSec,
      stepTimeMs: 2,
      tensors: 12,
      gpuBytes: 0,
      lastLoss: this.lastLoss,
      shardsDone: this.shardsDone,
      lease:
        lease === null
          ? null
          : {
              leaseId: lease.leaseId,
              jobId: lease.jobId,
              issuedAt: this.leaseIssuedAt - this.straggleMs,
              deadline: lease.deadline,
              stepsDone: 1,
              steps: 2,
            },
      dutyCycle: 1,
    };
    const heartbeat: Heartbeat = {
      state: lease === null ? 'idle' : 'working',
      uptimeS: (Date.now() - this.started) / 1000,
      health,
      leases: lease === null ? [] : [lease.leaseId],
    };
    return this.sim.socket.timeout(5_000).emitWithAck('heartbeat', heartbeat);
  }

  private loss(): number {
    const noise = (Math.random() - 0.5) * 0.1;
    this.lastLoss = Math.max(0.01, 1.1 * Math.exp(-this.shardsDone / 25) + 0.05 + noise);
    return this.lastLoss;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let lease: LeaseGrantInfo | null;
      try {
        lease = await this.sim.lease(this.options.samplesPerSec);
      } catch {
        if (this.stopped) return;
        await sleep(200);
        continue;
      }
      if (lease === null) {
        await sleep(150);
        continue;
      }
      this.lease = lease;
      this.leaseIssuedAt = Date.now();
      await sleep(this.options.shardMs);
      try {
        await this.sim.complete(lease, this.loss());
        this.shardsDone += 1;
      } catch {
        // The lease was cancelled meanwhile (the job was paused): ask for another.
      }
      this.lease = null;
    }
  }
}
