/**
 * The operator's side of the coordinator's REST API for programs (tests, simulations): calls with
 * the operator token, replies parsed with the protocol's schemas, and the mnist-mlp job that
 * trains to 90 % in a few shards — what the Node and browser swarm tests and simulations submit.
 */
import { readReply, type ConsensusSeries, type JobInfo, type JobSpecInput } from '@tabswarm/protocol';

const RETRIED_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'UND_ERR_SOCKET']);

export class OperatorClient {
  readonly url: string;
  readonly #token: string;

  constructor(url: string, token: string) {
    this.url = url;
    this.#token = token;
  }

  /** Calls a route; throws with the coordinator's reply on a non-2xx status. */
  async api<T>(method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> {
    const res = await this.#fetch(method, route, body);
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${route}: HTTP ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /**
   * A GET that meets a reset or closed connection is sent again, twice at most: a coordinator
   * whose event loop was busy (a checkpoint evaluation) closes an idle keep-alive socket late, just
   * as the next request reuses it (ECONNRESET); one that refused an upload before reading its body
   * closes that socket, which this process's shared pool may hand the next request
   * (UND_ERR_SOCKET, "other side closed"). POSTs are never repeated (they are not idempotent).
   */
  async #fetch(method: 'GET' | 'POST', route: string, body: unknown): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#send(method, route, body);
      } catch (error) {
        const code = (error as { cause?: { code?: unknown } }).cause?.code;
        if (method !== 'GET' || !RETRIED_CODES.has(String(code)) || attempt >= 2) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  #send(method: 'GET' | 'POST', route: string, body: unknown): Promise<Response> {
    return fetch(`${this.url}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${this.#token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  async createJob(spec: JobSpecInput): Promise<JobInfo> {
    return readReply('POST /api/jobs', await this.api('POST', '/api/jobs', spec)).job;
  }

  /** pause, resume or cancel a job (the dashboard's buttons). */
  async jobAction(id: string, action: 'pause' | 'resume' | 'cancel'): Promise<JobInfo> {
    return readReply('POST /api/jobs/:jobId/:action', await this.api('POST', `/api/jobs/${id}/${action}`))
      .job;
  }

  async getJob(id: string): Promise<JobInfo> {
    return readReply('GET /api/jobs/:jobId', await this.api('GET', `/api/jobs/${id}`)).job;
  }

  async consensus(jobId: string): Promise<ConsensusSeries> {
    return readReply(
      'GET /api/jobs/:jobId/consensus',
      await this.api('GET', `/api/jobs/${jobId}/consensus?limit=20000`),
    );
  }
}

/** mnist-mlp on the built-in MNIST with Adam, 25 local steps of 64: 90 % within a few shards. */
export function mnistMlpJob(
  name: string,
  extra: Pick<JobSpecInput, 'averaging' | 'checkpoint'> & {
    /** null: no target, every epoch runs (progress is then shards done over shards planned). */
    targetAccuracy?: number | null;
    epochs?: number;
    /** Samples per shard = batch size 64 × local steps (default 25: 1,600, 5 shards an epoch). */
    localSteps?: number;
  } = {},
): JobSpecInput {
  const { targetAccuracy = 0.9, epochs = 5, localSteps = 25, ...rest } = extra;
  return {
    name,
    model: { kind: 'preset', preset: 'mnist-mlp' },
    dataset: 'mnist',
    training: {
      optimizer: { type: 'adam' },
      learningRate: 0.003,
      batchSize: 64,
      localSteps,
      // Room to spare: the job completes as soon as a checkpoint evaluates at the target, and a
      // run that lands just under it (90 % is near where 3 epochs end) gets more shards to cross it.
      epochs,
      ...(targetAccuracy !== null && { targetAccuracy }),
      seed: 1,
    },
    ...rest,
  };
}
