/**
 * The coordinator's HTTP API as the trainer uses it: jobs, dataset shapes, the latest parameters
 * (where a volunteer starts) and checkpoint uploads. Works wherever fetch does (page, worker, Node).
 */
import {
  decodeFrame,
  frameValues,
  parseReply,
  restErrorSchema,
  type CheckpointRequest,
  type JobInfo,
  type RestReply,
  type RestRoute,
} from '@tabswarm/protocol';
import { TrainerError, errorText } from './any/errors.ts';
import { CacheStorageShardCache, type ShardCache } from './any/shard-cache.ts';
import type { DatasetShape } from './any/types.ts';
import { readBody, type DownloadProgress } from './download.ts';

/** How a parameter download goes: progress as it comes, and the checkpoint it will likely be. */
export interface ParameterFetch {
  readonly onProgress?: (progress: DownloadProgress) => void;
  /** The job's latest checkpoint as last seen (JobInfo): served from the cache when it is there. */
  readonly latestSeq?: number | null;
}

/** The cache of checkpoint frames (a few models' worth; least recently used first out). */
export const CHECKPOINT_CACHE_NAME = 'tabswarm-checkpoints-v1';
export const CHECKPOINT_CACHE_BYTES = 512 * 1024 * 1024;

/** The checkpoint cache where Cache Storage exists (a page or a worker: one cache for both), else none. */
export function checkpointCache(): ShardCache | undefined {
  return CacheStorageShardCache.available()
    ? new CacheStorageShardCache({ name: CHECKPOINT_CACHE_NAME, maxBytes: CHECKPOINT_CACHE_BYTES })
    : undefined;
}

export interface CoordinatorApi {
  listJobs(): Promise<JobInfo[]>;
  getJob(jobId: string): Promise<JobInfo>;
  getDataset(datasetId: string): Promise<DatasetShape & { name: string }>;
  /** The latest checkpoint's flat parameters (checkpoint 0, the seeded model, always exists). */
  getParameters(jobId: string, fetch?: ParameterFetch): Promise<{ values: Float32Array; seq: number | null }>;
  /** Checkpoint `seq`'s flat parameters: where a replicated lease starts (validated work). */
  getCheckpoint(
    jobId: string,
    seq: number,
    onProgress?: (progress: DownloadProgress) => void,
  ): Promise<Float32Array>;
  uploadCheckpoint(request: CheckpointRequest, frame: Uint8Array): Promise<void>;
}

export class HttpCoordinatorApi implements CoordinatorApi {
  readonly #base: URL;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #cache: ShardCache | null;

  /**
   * `cache`: checkpoint frames by URL (a checkpoint never changes once written), so a reloaded tab
   * or a restarted worker does not download a model of tens of MB again.
   */
  constructor(
    baseUrl: string,
    options: { fetch?: typeof fetch; timeoutMs?: number; cache?: ShardCache | undefined } = {},
  ) {
    this.#base = new URL(baseUrl);
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#cache = options.cache ?? null;
  }

  async listJobs(): Promise<JobInfo[]> {
    return (await this.#json('GET /api/jobs', '/api/jobs')).jobs;
  }

  async getJob(jobId: string): Promise<JobInfo> {
    const { job } = await this.#json('GET /api/jobs/:jobId', `/api/jobs/${encodeURIComponent(jobId)}`);
    if (job.id !== jobId) throw new TrainerError('HTTP_FAILED', `GET /api/jobs/${jobId}: another job`);
    return job;
  }

  async getDataset(datasetId: string): Promise<DatasetShape & { name: string }> {
    const path = `/api/datasets/${encodeURIComponent(datasetId)}`;
    const { dataset } = await this.#json('GET /api/datasets/:id', path);
    return {
      featureShape: dataset.featureShape,
      numClasses: dataset.numClasses,
      ...(dataset.labelShape !== undefined && { labelShape: dataset.labelShape }),
      name: dataset.name,
    };
  }

  async getParameters(
    jobId: string,
    options: ParameterFetch = {},
  ): Promise<{ values: Float32Array; seq: number | null }> {
    if (typeof options.latestSeq === 'number') {
      const cached = await this.#cached(jobId, options.latestSeq);
      if (cached !== null) return { values: cached, seq: options.latestSeq };
    }
    const path = `/api/jobs/${encodeURIComponent(jobId)}/parameters`;
    const response = await this.#request(path);
    const bytes = await readBody(response, path, options.onProgress);
    const values = this.#decode(jobId, path, bytes);
    const seq = Number(response.headers.get('x-checkpoint-seq'));
    if (!Number.isSafeInteger(seq)) return { values, seq: null };
    await this.#cache?.put(this.#checkpointUrl(jobId, seq), bytes).catch(() => undefined);
    return { values, seq };
  }

  async getCheckpoint(
    jobId: string,
    seq: number,
    onProgress?: (progress: DownloadProgress) => void,
  ): Promise<Float32Array> {
    const cached = await this.#cached(jobId, seq);
    if (cached !== null) return cached;
    const path = `/api/jobs/${encodeURIComponent(jobId)}/checkpoints/${seq}`;
    const bytes = await readBody(await this.#request(path), path, onProgress);
    const values = this.#decode(jobId, path, bytes);
    await this.#cache?.put(this.#checkpointUrl(jobId, seq), bytes).catch(() => undefined);
    return values;
  }

  #checkpointUrl(jobId: string, seq: number): string {
    return new URL(`/api/jobs/${encodeURIComponent(jobId)}/checkpoints/${seq}`, this.#base).href;
  }

  /** A cached checkpoint's values; a cached frame that does not decode is dropped (and fetched anew). */
  async #cached(jobId: string, seq: number): Promise<Float32Array | null> {
    if (this.#cache === null) return null;
    const url = this.#checkpointUrl(jobId, seq);
    const bytes = await this.#cache.get(url).catch(() => null);
    if (bytes === null) return null;
    try {
      return this.#decode(jobId, url, bytes);
    } catch {
      await this.#cache.delete(url).catch(() => undefined);
      return null;
    }
  }

  #decode(jobId: string, path: string, bytes: Uint8Array): Float32Array {
    const frame = decodeFrame(bytes);
    if (!frame.ok) throw new TrainerError('PARAMETERS_INVALID', `${path}: ${frame.code}: ${frame.message}`);
    if (frame.header.jobId !== jobId) {
      throw new TrainerError('PARAMETERS_INVALID', `${path}: the frame is for job ${frame.header.jobId}`);
    }
    return frameValues(frame).slice();
  }

  async uploadCheckpoint(request: CheckpointRequest, frame: Uint8Array): Promise<void> {
    const body = frame.slice().buffer;
    const response = await this.#request(request.uploadUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${request.token}`, 'content-type': 'application/octet-stream' },
      body,
    });
    await response.body?.cancel().catch(() => undefined);
  }

  /** GET `path` and parse its reply as `route`; a malformed reply fails with its BAD_PAYLOAD message. */
  async #json<R extends RestRoute>(route: R, path: string): Promise<RestReply<R>> {
    const response = await this.#request(path);
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw new TrainerError('HTTP_FAILED', `${path}: ${errorText(error)}`);
    }
    const reply = parseReply(route, body);
    if (!reply.ok) throw new TrainerError('HTTP_FAILED', `${reply.error.code}: ${reply.error.message}`);
    return reply.value;
  }

  async #request(path: string, init: RequestInit = {}): Promise<Response> {
    const url = new URL(path, this.#base);
    if (url.origin !== this.#base.origin)
      throw new TrainerError('HTTP_FAILED', `${path} is not on the coordinator`);
    let response: Response;
    try {
      response = await this.#fetch(url.href, { ...init, signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (error) {
      throw new TrainerError('HTTP_FAILED', `${init.method ?? 'GET'} ${path}: ${errorText(error)}`);
    }
    if (!response.ok) {
      const body = restErrorSchema.safeParse(await response.json().catch(() => null));
      const detail = body.success ? `: ${body.data.code}: ${body.data.message.slice(0, 300)}` : '';
      throw new TrainerError(
        'HTTP_FAILED',
        `${init.method ?? 'GET'} ${path}: HTTP ${response.status}${detail}`,
      );
    }
    return response;
  }
}
