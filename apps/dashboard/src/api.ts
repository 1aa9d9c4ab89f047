/**
 * The coordinator's REST API as the dashboard uses it: reads with fetch, writes with the operator
 * token, and uploads through XMLHttpRequest because only XHR reports upload progress. Every
 * failure becomes an ApiError carrying the server's `{ ok: false, code, message }`.
 */
import type {
  CheckpointSummary,
  ConsensusSeries,
  EventKind,
  JobInfo,
  LogEvent,
  NodeLinks,
} from '@tabswarm/protocol';
import { isConsensusPoint, isNodeLinks } from './dashboard-connection.ts';

export class ApiError extends Error {
  /** HTTP status; 0 when the request never got an answer. */
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
  /** 401 or 403: the operator token is missing or wrong. */
  get isAuth(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** One lease completion, as `GET /api/jobs/:id/metrics` lists them (SQLite gives `counted` as 0/1). */
export interface TrainingPoint {
  readonly t: number;
  readonly loss: number;
  readonly samples: number;
  readonly counted: number | boolean;
  readonly nodeId: string;
}

export interface JobMetrics {
  readonly checkpoints: readonly CheckpointSummary[];
  readonly training: readonly TrainingPoint[];
  /** Counted samples per second over the coordinator's last minute. */
  readonly samplesPerSecond: number;
}

export interface DatasetSummary {
  readonly id: string;
  readonly name: string;
  readonly source: string;
  readonly featureShape: readonly number[];
  readonly numClasses: number;
  readonly trainSize: number;
  readonly testSize: number;
}

export type UploadPhase = 'receiving' | 'processing' | 'done' | 'failed';

export interface UploadStatus {
  readonly uploadId: string;
  readonly phase: UploadPhase;
  readonly receivedBytes: number;
  readonly totalBytes: number | null;
  readonly datasetId?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface UploadProgress {
  readonly loaded: number;
  readonly total: number | null;
}

export type JobAction = 'pause' | 'resume' | 'cancel';

export interface DatasetUploadOptions {
  readonly format: 'csv' | 'binary';
  readonly name?: string;
  /** CSV only. */
  readonly label?: string;
  /** CSV only. */
  readonly testFraction?: string;
  readonly uploadId: string;
}

export interface EventQuery {
  readonly jobId?: string;
  readonly kinds?: readonly EventKind[];
  readonly limit?: number;
}

export interface XhrRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: XMLHttpRequestBodyInit;
  readonly onUploadProgress?: (progress: UploadProgress) => void;
  readonly signal?: AbortSignal;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

function isConsensusBucket(value: unknown): value is ConsensusSeries['buckets'][number] {
  return (
    isObject(value) &&
    typeof value.at === 'number' &&
    typeof value.exchanges === 'number' &&
    typeof value.ok === 'number' &&
    (value.meanDistance === null || typeof value.meanDistance === 'number')
  );
}

/** The server's error body, or a stand-in that says what happened. */
export function errorFrom(status: number, body: unknown, fallback: string): ApiError {
  if (isObject(body) && typeof body.code === 'string' && typeof body.message === 'string') {
    return new ApiError(status, body.code, body.message);
  }
  return new ApiError(status, status === 0 ? 'NETWORK' : `HTTP_${status}`, fallback);
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** One XMLHttpRequest as a promise of `{ status, body }` (body parsed as JSON when it is). */
export function xhr(request: XhrRequest): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = new XMLHttpRequest();
    req.open(request.method, request.url);
    for (const [name, value] of Object.entries(request.headers ?? {})) req.setRequestHeader(name, value);
    const onProgress = request.onUploadProgress;
    if (onProgress) {
      req.upload.onprogress = (e) =>
        onProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : null });
    }
    req.onload = () => resolve({ status: req.status, body: parseJson(req.responseText) });
    req.onerror = () => reject(new ApiError(0, 'NETWORK', 'the coordinator could not be reached'));
    req.onabort = () => reject(new ApiError(0, 'ABORTED', 'the upload was cancelled'));
    request.signal?.addEventListener('abort', () => req.abort(), { once: true });
    req.send(request.body ?? null);
  });
}

export const checkpointUrls = (jobId: string, seq: number) => {
  const base = `/api/jobs/${encodeURIComponent(jobId)}/checkpoints/${seq}`;
  return { modelJson: `${base}/model.json`, weightsBin: `${base}/weights.bin`, frame: base };
};

/** A job id that cannot exist, for checking a token without changing anything (see verifyToken). */
const PROBE_JOB = 'job-000000000000';

export class Api {
  readonly #base: string;

  constructor(base = '') {
    this.#base = base;
  }

  async #get(path: string): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.#base}${path}`, { headers: { accept: 'application/json' } });
    } catch {
      throw new ApiError(0, 'NETWORK', 'the coordinator could not be reached');
    }
    const body = parseJson(await res.text());
    if (!res.ok) throw errorFrom(res.status, body, `${path} answered ${res.status}`);
    return body;
  }

  async #post(path: string, token: string | null, init: Omit<XhrRequest, 'method' | 'url'> = {}) {
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const { status, body } = await xhr({ ...init, method: 'POST', url: `${this.#base}${path}`, headers });
    if (status < 200 || status >= 300) throw errorFrom(status, body, `${path} answered ${status}`);
    return body;
  }

  async jobs(): Promise<JobInfo[]> {
    const body = await this.#get('/api/jobs');
    return isObject(body) && Array.isArray(body.jobs) ? (body.jobs as JobInfo[]) : [];
  }

  async job(id: string): Promise<JobInfo> {
    const body = await this.#get(`/api/jobs/${encodeURIComponent(id)}`);
    if (!isObject(body) || !isObject(body.job))
      throw new ApiError(200, 'BAD_RESPONSE', 'no job in the reply');
    return body.job as unknown as JobInfo;
  }

  async metrics(id: string): Promise<JobMetrics> {
    const body = await this.#get(`/api/jobs/${encodeURIComponent(id)}/metrics`);
    if (!isObject(body) || !Array.isArray(body.checkpoints) || !Array.isArray(body.training)) {
      throw new ApiError(200, 'BAD_RESPONSE', 'the metrics reply has no checkpoints or training series');
    }
    return {
      checkpoints: body.checkpoints as CheckpointSummary[],
      training: body.training as TrainingPoint[],
      samplesPerSecond: typeof body.samplesPerSecond === 'number' ? body.samplesPerSecond : 0,
    };
  }

  /** GET /api/gossip/links: every volunteer's latest link report (malformed ones dropped). */
  async links(): Promise<NodeLinks[]> {
    const body = await this.#get('/api/gossip/links');
    return isObject(body) && Array.isArray(body.nodes) ? body.nodes.filter(isNodeLinks) : [];
  }

  /** GET /api/jobs/:id/consensus: the job's exchanges, bucketed, and the newest points. */
  async consensus(id: string, limit = 500): Promise<ConsensusSeries> {
    const body = await this.#get(`/api/jobs/${encodeURIComponent(id)}/consensus?limit=${limit}`);
    if (!isObject(body) || !Array.isArray(body.buckets) || !Array.isArray(body.points)) {
      throw new ApiError(200, 'BAD_RESPONSE', 'the consensus reply has no buckets or points');
    }
    const totals = isObject(body.totals) ? body.totals : {};
    return {
      jobId: id,
      bucketMs: typeof body.bucketMs === 'number' ? body.bucketMs : 0,
      buckets: (body.buckets as unknown[]).filter(isConsensusBucket),
      points: body.points.filter(isConsensusPoint),
      totals: {
        exchanges: typeof totals.exchanges === 'number' ? totals.exchanges : 0,
        byOutcome: isObject(totals.byOutcome) ? totals.byOutcome : {},
        bytesByCodec: isObject(totals.bytesByCodec) ? totals.bytesByCodec : {},
      },
    };
  }

  async events(query: EventQuery = {}): Promise<LogEvent[]> {
    const params = new URLSearchParams();
    if (query.jobId !== undefined) params.set('jobId', query.jobId);
    if (query.kinds !== undefined && query.kinds.length > 0) params.set('kind', query.kinds.join(','));
    params.set('limit', String(query.limit ?? 2000));
    const body = await this.#get(`/api/events?${params.toString()}`);
    return isObject(body) && Array.isArray(body.events) ? (body.events as LogEvent[]) : [];
  }

  async datasets(): Promise<DatasetSummary[]> {
    const body = await this.#get('/api/datasets');
    return isObject(body) && Array.isArray(body.datasets) ? (body.datasets as DatasetSummary[]) : [];
  }

  async uploadStatus(uploadId: string): Promise<UploadStatus> {
    const body = await this.#get(`/api/datasets/uploads/${encodeURIComponent(uploadId)}`);
    if (!isObject(body) || !isObject(body.upload))
      throw new ApiError(200, 'BAD_RESPONSE', 'no upload status');
    return body.upload as unknown as UploadStatus;
  }

  /** POST /api/jobs; `onProgress` follows the request body (large with an uploaded topology). */
  async submitJob(
    spec: unknown,
    token: string | null,
    onProgress?: (progress: UploadProgress) => void,
  ): Promise<JobInfo> {
    const body = await this.#post('/api/jobs', token, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(spec),
      ...(onProgress && { onUploadProgress: onProgress }),
    });
    if (!isObject(body) || !isObject(body.job))
      throw new ApiError(201, 'BAD_RESPONSE', 'no job in the reply');
    return body.job as unknown as JobInfo;
  }

  async control(id: string, action: JobAction, token: string | null): Promise<JobInfo> {
    const body = await this.#post(`/api/jobs/${encodeURIComponent(id)}/${action}`, token);
    if (!isObject(body) || !isObject(body.job))
      throw new ApiError(200, 'BAD_RESPONSE', 'no job in the reply');
    return body.job as unknown as JobInfo;
  }

  async uploadDataset(
    file: Blob,
    options: DatasetUploadOptions,
    token: string | null,
    onProgress: (progress: UploadProgress) => void,
    signal?: AbortSignal,
  ): Promise<DatasetSummary> {
    const params = new URLSearchParams({ uploadId: options.uploadId });
    if (options.name !== undefined && options.name.trim() !== '') params.set('name', options.name.trim());
    if (options.format === 'csv') {
      if (options.label !== undefined && options.label.trim() !== '')
        params.set('label', options.label.trim());
      if (options.testFraction !== undefined && options.testFraction.trim() !== '') {
        params.set('testFraction', options.testFraction.trim());
      }
    }
    const body = await this.#post(`/api/datasets?${params.toString()}`, token, {
      headers: { 'content-type': options.format === 'csv' ? 'text/csv' : 'application/octet-stream' },
      body: file,
      onUploadProgress: onProgress,
      ...(signal && { signal }),
    });
    if (!isObject(body) || !isObject(body.dataset)) {
      throw new ApiError(201, 'BAD_RESPONSE', 'no dataset in the reply');
    }
    return body.dataset as unknown as DatasetSummary;
  }

  /**
   * Checks a token without a dedicated endpoint: pausing a job that cannot exist is refused with
   * 401/403 before anything else when the token is wrong, and answered 404 when it is right.
   */
  async verifyToken(token: string): Promise<'accepted' | ApiError> {
    try {
      await this.#post(`/api/jobs/${PROBE_JOB}/pause`, token);
      return 'accepted';
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return 'accepted';
      if (error instanceof ApiError) return error;
      throw error;
    }
  }
}
