/**
 * The coordinator's REST API as the dashboard uses it: reads with fetch, writes with the operator
 * token, and uploads through XMLHttpRequest because only XHR reports upload progress. Every
 * failure becomes an ApiError carrying the server's `{ ok: false, code, message }`.
 */
import {
  CodedError,
  readReply,
  restErrorSchema,
  type ConsensusSeries,
  type DatasetSummary,
  type EventKind,
  type JobInfo,
  type JobMetrics as JobMetricsReply,
  type LogEvent,
  type NodeLinks,
  type RestReply,
  type RestRoute,
  type UploadStatus,
} from '@tabswarm/protocol';

export type { DatasetSummary, TrainingPoint, UploadPhase, UploadStatus } from '@tabswarm/protocol';

export class ApiError extends CodedError {
  /** HTTP status; 0 when the request never got an answer. */
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(code, message, 'ApiError');
    this.status = status;
  }
  /** 401 or 403: the operator token is missing or wrong. */
  get isAuth(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** What the job page keeps of `GET /api/jobs/:id/metrics`. */
export type JobMetrics = Omit<JobMetricsReply, 'trainingTotal'>;

export interface UploadProgress {
  readonly loaded: number;
  readonly total: number | null;
}

export type JobAction = 'pause' | 'resume' | 'cancel';

export interface DatasetUploadOptions {
  /** text: UTF-8 text, tokenised by character into windows of 64 (the coordinator's default context). */
  readonly format: 'csv' | 'binary' | 'text';
  readonly name?: string;
  /** CSV only. */
  readonly label?: string;
  /** CSV only. */
  readonly testFraction?: string;
  /** CSV only: what numeric columns get unless `columns` says otherwise. */
  readonly numeric?: 'standardize' | 'none';
  /** CSV only: per-column choices as JSON text, `{"name":"standardize|none|onehot|drop"}`. */
  readonly columns?: string;
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

/** The server's error body, or a stand-in that says what happened. */
export function errorFrom(status: number, body: unknown, fallback: string): ApiError {
  const error = restErrorSchema.safeParse(body);
  if (error.success) return new ApiError(status, error.data.code, error.data.message);
  return new ApiError(status, status === 0 ? 'NETWORK' : `HTTP_${status}`, fallback);
}

/** A reply body checked with its route's schema; a malformed one is a BAD_PAYLOAD ApiError. */
function parsed<R extends RestRoute>(route: R, status: number, body: unknown): RestReply<R> {
  try {
    return readReply(route, body);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ApiError(status, 'BAD_PAYLOAD', message);
  }
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

const UPLOAD_TYPES = {
  csv: 'text/csv',
  text: 'text/plain; charset=utf-8',
  binary: 'application/octet-stream',
} as const;

/** A job id that cannot exist, for checking a token without changing anything (see verifyToken). */
const PROBE_JOB = 'job-000000000000';

export class Api {
  readonly #base: string;

  constructor(base = '') {
    this.#base = base;
  }

  /** GET `path` and parse its reply as `route`. */
  async #get<R extends RestRoute>(route: R, path: string): Promise<RestReply<R>> {
    let res: Response;
    try {
      res = await fetch(`${this.#base}${path}`, { headers: { accept: 'application/json' } });
    } catch {
      throw new ApiError(0, 'NETWORK', 'the coordinator could not be reached');
    }
    const body = parseJson(await res.text());
    if (!res.ok) throw errorFrom(res.status, body, `${path} answered ${res.status}`);
    return parsed(route, res.status, body);
  }

  /** POST to `path` with the operator token and parse the reply as `route`. */
  async #post<R extends RestRoute>(
    route: R,
    path: string,
    token: string | null,
    init: Omit<XhrRequest, 'method' | 'url'> = {},
  ): Promise<RestReply<R>> {
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const { status, body } = await xhr({ ...init, method: 'POST', url: `${this.#base}${path}`, headers });
    if (status < 200 || status >= 300) throw errorFrom(status, body, `${path} answered ${status}`);
    return parsed(route, status, body);
  }

  async jobs(): Promise<JobInfo[]> {
    return (await this.#get('GET /api/jobs', '/api/jobs')).jobs;
  }

  async job(id: string): Promise<JobInfo> {
    return (await this.#get('GET /api/jobs/:jobId', `/api/jobs/${encodeURIComponent(id)}`)).job;
  }

  async metrics(id: string): Promise<JobMetrics> {
    return this.#get('GET /api/jobs/:jobId/metrics', `/api/jobs/${encodeURIComponent(id)}/metrics`);
  }

  /** GET /api/gossip/links: every volunteer's latest link report. */
  async links(): Promise<NodeLinks[]> {
    return (await this.#get('GET /api/gossip/links', '/api/gossip/links')).nodes;
  }

  /** GET /api/jobs/:id/consensus: the job's exchanges, bucketed, and the newest points. */
  async consensus(id: string, limit = 500): Promise<ConsensusSeries> {
    const path = `/api/jobs/${encodeURIComponent(id)}/consensus?limit=${limit}`;
    return this.#get('GET /api/jobs/:jobId/consensus', path);
  }

  async events(query: EventQuery = {}): Promise<LogEvent[]> {
    const params = new URLSearchParams();
    if (query.jobId !== undefined) params.set('jobId', query.jobId);
    if (query.kinds !== undefined && query.kinds.length > 0) params.set('kind', query.kinds.join(','));
    params.set('limit', String(query.limit ?? 2000));
    return (await this.#get('GET /api/events', `/api/events?${params.toString()}`)).events;
  }

  async datasets(): Promise<DatasetSummary[]> {
    return (await this.#get('GET /api/datasets', '/api/datasets')).datasets;
  }

  async uploadStatus(uploadId: string): Promise<UploadStatus> {
    const path = `/api/datasets/uploads/${encodeURIComponent(uploadId)}`;
    return (await this.#get('GET /api/datasets/uploads/:uploadId', path)).upload;
  }

  /** POST /api/jobs; `onProgress` follows the request body (large with an uploaded topology). */
  async submitJob(
    spec: unknown,
    token: string | null,
    onProgress?: (progress: UploadProgress) => void,
  ): Promise<JobInfo> {
    const reply = await this.#post('POST /api/jobs', '/api/jobs', token, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(spec),
      ...(onProgress && { onUploadProgress: onProgress }),
    });
    return reply.job;
  }

  async control(id: string, action: JobAction, token: string | null): Promise<JobInfo> {
    const path = `/api/jobs/${encodeURIComponent(id)}/${action}`;
    return (await this.#post('POST /api/jobs/:jobId/:action', path, token)).job;
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
      if (options.numeric !== undefined) params.set('numeric', options.numeric);
      if (options.columns !== undefined && options.columns.trim() !== '')
        params.set('columns', options.columns.trim());
    }
    const reply = await this.#post('POST /api/datasets', `/api/datasets?${params.toString()}`, token, {
      headers: { 'content-type': UPLOAD_TYPES[options.format] },
      body: file,
      onUploadProgress: onProgress,
      ...(signal && { signal }),
    });
    return reply.dataset;
  }

  /**
   * Checks a token without a dedicated endpoint: pausing a job that cannot exist is refused with
   * 401/403 before anything else when the token is wrong, and answered 404 when it is right.
   */
  async verifyToken(token: string): Promise<'accepted' | ApiError> {
    try {
      await this.#post('POST /api/jobs/:jobId/:action', `/api/jobs/${PROBE_JOB}/pause`, token);
      return 'accepted';
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return 'accepted';
      if (error instanceof ApiError) return error;
      throw error;
    }
  }
}
