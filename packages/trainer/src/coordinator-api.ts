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
import type { DatasetShape } from './any/types.ts';

export interface CoordinatorApi {
  listJobs(): Promise<JobInfo[]>;
  getJob(jobId: string): Promise<JobInfo>;
  getDataset(datasetId: string): Promise<DatasetShape & { name: string }>;
  /** The latest checkpoint's flat parameters (checkpoint 0, the seeded model, always exists). */
  getParameters(jobId: string): Promise<{ values: Float32Array; seq: number | null }>;
  /** Checkpoint `seq`'s flat parameters: where a replicated lease starts (validated work). */
  getCheckpoint(jobId: string, seq: number): Promise<Float32Array>;
  uploadCheckpoint(request: CheckpointRequest, frame: Uint8Array): Promise<void>;
}

export class HttpCoordinatorApi implements CoordinatorApi {
  readonly #base: URL;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(baseUrl: string, options: { fetch?: typeof fetch; timeoutMs?: number } = {}) {
    this.#base = new URL(baseUrl);
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? 30_000;
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

  async getParameters(jobId: string): Promise<{ values: Float32Array; seq: number | null }> {
    const path = `/api/jobs/${encodeURIComponent(jobId)}/parameters`;
    const response = await this.#request(path);
    const frame = decodeFrame(new Uint8Array(await response.arrayBuffer()));
    if (!frame.ok) throw new TrainerError('PARAMETERS_INVALID', `${path}: ${frame.code}: ${frame.message}`);
    if (frame.header.jobId !== jobId) {
      throw new TrainerError('PARAMETERS_INVALID', `${path}: the frame is for job ${frame.header.jobId}`);
    }
    const seq = Number(response.headers.get('x-checkpoint-seq'));
    return { values: frameValues(frame).slice(), seq: Number.isSafeInteger(seq) ? seq : null };
  }

  async getCheckpoint(jobId: string, seq: number): Promise<Float32Array> {
    const path = `/api/jobs/${encodeURIComponent(jobId)}/checkpoints/${seq}`;
    const response = await this.#request(path);
    const frame = decodeFrame(new Uint8Array(await response.arrayBuffer()));
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
