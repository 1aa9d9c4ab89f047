/**
 * A real coordinator for part 1 (server/src/main.ts as `npm start` runs it, in its own process and
 * data directory) with the operator's REST calls part 1 makes: jobs, checkpoints, dataset shards.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  decodeFrame,
  decodeShard,
  frameValues,
  type CheckpointSummary,
  type DatasetSummary,
  type DecodedShard,
  type JobInfo,
  type JobSpecInput,
} from '@tabswarm/protocol';
import { OperatorClient } from '@tabswarm/virtual';
import { spawnCoordinator, type SpawnedCoordinator } from '../../../../server/src/spawn-coordinator.ts';

export class BenchCoordinator {
  readonly url: string;
  readonly pid: number;
  readonly #spawned: SpawnedCoordinator;
  readonly #dataDir: string;
  get dataDir(): string {
    return this.#dataDir;
  }
  readonly #token: string;
  readonly #operator: OperatorClient;

  private constructor(spawned: SpawnedCoordinator, dataDir: string) {
    this.#spawned = spawned;
    this.#dataDir = dataDir;
    this.url = spawned.url;
    this.pid = spawned.child.pid as number;
    this.#token = fs.readFileSync(path.join(dataDir, 'operator-token'), 'utf8').trim();
    this.#operator = new OperatorClient(spawned.url, this.#token);
  }

  /**
   * `env`: more environment for main.ts (e.g. TABSWARM_RATE_LIMITS). `dataDir`: another
   * coordinator's, to share its files (several coordinators on one PostgreSQL store).
   */
  static async start(
    env: Readonly<Record<string, string>> = {},
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tabswarm-bench-')),
  ): Promise<BenchCoordinator> {
    const spawned = await spawnCoordinator({ dataDir, env: { LOG_LEVEL: 'warn', ...env } });
    return new BenchCoordinator(spawned, dataDir);
  }

  /** JSON routes through the operator client, which sends a GET again on a reset or closed socket. */
  #call<T>(method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> {
    return this.#operator.api<T>(method, route, body);
  }

  async #bytes(route: string): Promise<Uint8Array> {
    const res = await fetch(`${this.url}${route}`);
    if (!res.ok) throw new Error(`GET ${route}: HTTP ${res.status} ${await res.text()}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  async createJob(spec: JobSpecInput): Promise<JobInfo> {
    return (await this.#call<{ job: JobInfo }>('POST', '/api/jobs', spec)).job;
  }

  async job(id: string): Promise<JobInfo> {
    return (await this.#call<{ job: JobInfo }>('GET', `/api/jobs/${id}`)).job;
  }

  /** Stops a job that is still running; one that finished meanwhile (409) is left as it is. */
  async cancel(id: string): Promise<void> {
    const res = await fetch(`${this.url}/api/jobs/${id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.#token}` },
    });
    if (!res.ok && res.status !== 409) {
      throw new Error(`POST /api/jobs/${id}/cancel: HTTP ${res.status} ${await res.text()}`);
    }
  }

  async checkpoints(id: string): Promise<CheckpointSummary[]> {
    return (await this.#call<{ checkpoints: CheckpointSummary[] }>('GET', `/api/jobs/${id}/checkpoints`))
      .checkpoints;
  }

  /** A checkpoint's parameters (checkpoint 0: the seeded initial model both sides start from). */
  async checkpointValues(id: string, seq: number): Promise<Float32Array> {
    const frame = decodeFrame(await this.#bytes(`/api/jobs/${id}/checkpoints/${seq}`));
    if (!frame.ok) throw new Error(`checkpoint ${seq} of ${id}: ${frame.message}`);
    return frameValues(frame).slice();
  }

  async dataset(id: string): Promise<DatasetSummary> {
    return (await this.#call<{ dataset: DatasetSummary }>('GET', `/api/datasets/${id}`)).dataset;
  }

  /** A split as the trainer and the coordinator's evaluation read it (normalised features). */
  async samples(id: string, split: 'train' | 'test', start: number, end: number): Promise<DecodedShard> {
    return decodeShard(
      await this.#bytes(`/api/datasets/${id}/samples?split=${split}&start=${start}&end=${end}`),
    );
  }

  output(): string {
    return this.#spawned.output();
  }

  async stop(): Promise<void> {
    const child = this.#spawned.child;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await this.#spawned.exited;
    // Shared with another coordinator still running, the folder goes with the last one.
    fs.rmSync(this.#dataDir, { recursive: true, force: true });
  }
}
