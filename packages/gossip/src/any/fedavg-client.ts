/**
 * The FedAvg side of a volunteer: after a round of shards it uploads its parameters (an fp32
 * frame, with the samples it trained since its last upload in a header) to the coordinator, which
 * weighs each upload by the samples it counted itself for that volunteer — never the header — and
 * answers with the round's weighted average once the round closes (quorum or deadline).
 *
 * By default the upload overlaps training: `afterShard` returns at once, and when the average
 * arrives it is applied at the next `afterShard` together with the local progress made meanwhile
 * (average + (now − uploaded)), so no volunteer waits for the round. `overlap: false` waits.
 *
 * With the job's outer optimizer (averaging.outer) it uploads only every `syncEvery` shards, and
 * a round's average x̄ is where the outer Nesterov step starts from (outer-optimizer.ts):
 * θ ← θ − η(g + μv) with g = θ − x̄, then training resumes from θ + (now − uploaded). Volunteers
 * still upload their models, not pseudo-gradients: the coordinator's rounds, robust rules and
 * checks stay as they are, and with η = 1, μ = 0 this is plain FedAvg every `syncEvery` shards.
 */
import {
  decodeFrame,
  encodeFp32Frame,
  FEDAVG_PARTICIPANTS_HEADER,
  FEDAVG_ROUND_HEADER,
  FEDAVG_SAMPLES_HEADER,
  fedAvgCredential,
  fedAvgUploadPath,
  frameValues,
  restErrorSchema,
} from '@tabswarm/protocol';
import { basicKernels, type GossipKernels } from './kernels.ts';
import { OuterState, type OuterSettings } from './outer-optimizer.ts';

export type FedAvgResult =
  | {
      readonly ok: true;
      readonly round: number;
      readonly participants: number;
      readonly values: Float32Array;
      /** Bytes of the response's body (the averaged frame), when known. */
      readonly bytes?: number;
    }
  | { readonly ok: false; readonly code: string; readonly message: string };

export interface FedAvgPort {
  /** Uploads one fp32 frame; resolves with the round's average or why there is none. */
  upload(frame: Uint8Array, samples: number): Promise<FedAvgResult>;
}

export interface HttpFedAvgOptions {
  /** The coordinator's origin, e.g. http://localhost:8080. */
  readonly baseUrl: string;
  readonly jobId: string;
  readonly nodeId: string;
  /** JoinAccepted.peerjs.token, the session token, as it is now (heartbeats renew it). */
  readonly sessionToken: () => string;
  readonly fetch?: typeof fetch;
}

/** Uploads over HTTP (POST /api/jobs/:jobId/fedavg/uploads); the response is the averaged frame. */
export function httpFedAvgPort(options: HttpFedAvgOptions): FedAvgPort {
  const doFetch = options.fetch ?? fetch.bind(globalThis);
  return {
    async upload(frame, samples) {
      try {
        const res = await doFetch(`${options.baseUrl}${fedAvgUploadPath(options.jobId)}`, {
          method: 'POST',
          headers: {
            authorization: fedAvgCredential(options.nodeId, options.sessionToken()),
            'content-type': 'application/octet-stream',
            [FEDAVG_SAMPLES_HEADER]: String(samples),
          },
          body: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) as ArrayBuffer,
        });
        if (!res.ok) {
          const body = restErrorSchema.safeParse(await res.json().catch(() => null));
          return body.success
            ? { ok: false, code: body.data.code, message: body.data.message }
            : { ok: false, code: `HTTP_${res.status}`, message: res.statusText };
        }
        const body = new Uint8Array(await res.arrayBuffer());
        const decoded = decodeFrame(body);
        if (!decoded.ok) return { ok: false, code: decoded.code, message: decoded.message };
        return {
          ok: true,
          bytes: body.byteLength,
          round: Number(res.headers.get(FEDAVG_ROUND_HEADER) ?? decoded.header.round),
          participants: Number(res.headers.get(FEDAVG_PARTICIPANTS_HEADER) ?? 0),
          values: frameValues(decoded).slice(),
        };
      } catch (error) {
        return {
          ok: false,
          code: 'NETWORK',
          message: error instanceof Error ? error.message : String(error),
        };
      }
    },
  };
}

export interface FedAvgClientOptions {
  readonly port: FedAvgPort;
  readonly jobId: string;
  readonly nodeId: string;
  /** Keep training while the round closes (default true). */
  readonly overlap?: boolean;
  /** The job's outer optimizer (averaging.outer); absent: upload after every shard, take the average. */
  readonly outer?: OuterSettings;
  /** What applies a round's average (the outer step, the local progress since): default the references. */
  readonly kernels?: GossipKernels;
}

export class FedAvgClient {
  readonly #options: FedAvgClientOptions;
  #samples = 0;
  #inFlight: Promise<void> | null = null;
  #ready: { snapshot: Float32Array; values: Float32Array } | null = null;
  #round = 0;
  #outer: OuterState | null = null;
  lastResult: FedAvgResult | null = null;
  /** Bytes of the frames uploaded, and of the averages received. */
  bytesOut = 0;
  bytesIn = 0;

  constructor(options: FedAvgClientOptions) {
    this.#options = options;
  }

  /**
   * After a shard: applies a finished round's average, and uploads these parameters if none is in
   * flight (with the outer optimizer, only after every `syncEvery`-th shard).
   */
  async afterShard(params: Float32Array, samples: number): Promise<Float32Array> {
    this.#samples += samples;
    await this.#applyReady(params);
    const outer = this.#options.outer;
    if (outer !== undefined) this.#outer ??= new OuterState(params, outer);
    const due = this.#outer === null || this.#outer.shardDone();
    if (due && this.#inFlight === null) {
      const snapshot = params.slice();
      const weight = Math.max(1, this.#samples);
      this.#samples = 0;
      const frame = encodeFp32Frame({
        jobId: this.#options.jobId,
        senderId: this.#options.nodeId,
        round: this.#round++,
        values: snapshot,
      });
      this.bytesOut += frame.byteLength;
      this.#inFlight = this.#options.port.upload(frame, weight).then((result) => {
        this.lastResult = result;
        if (result.ok) this.bytesIn += result.bytes ?? result.values.byteLength;
        if (result.ok && result.values.length === snapshot.length)
          this.#ready = { snapshot, values: result.values };
        this.#inFlight = null;
      });
      if (this.#options.overlap === false) {
        await this.#inFlight;
        await this.#applyReady(params);
      }
    }
    return params;
  }

  /**
   * With the outer optimizer: a shard after which nothing is uploaded and no round's average waits
   * to be applied is counted here (its samples too), and true says that the trainer's parameters
   * need not be read for it (afterShard would change nothing).
   */
  skipShard(samples: number): boolean {
    const outer = this.#outer;
    if (outer === null || this.#ready !== null) return false;
    if ((outer.shards + 1) % outer.settings.syncEvery === 0) return false;
    outer.shardDone();
    this.#samples += samples;
    return true;
  }

  /** The outer optimizer's state, once the first shard made it; null without one. */
  get outer(): OuterState | null {
    return this.#outer;
  }

  /** Waits for the upload in flight, if any (shutdown, tests). */
  async settle(): Promise<void> {
    await this.#inFlight;
  }

  /**
   * x̄ ← the round's average (with the outer optimizer: the outer step from θ to it, x̄ ← the new θ),
   * then params ← x̄ + (params − snapshot): the training done since the upload is kept.
   */
  async #applyReady(params: Float32Array): Promise<void> {
    const ready = this.#ready;
    if (ready === null || ready.values.length !== params.length) return;
    this.#ready = null;
    const kernels = this.#options.kernels ?? basicKernels;
    const outer = this.#outer;
    if (outer !== null) {
      await kernels.averagingStep({
        x: ready.values,
        pair: null,
        outer: { synced: outer.synced, velocity: outer.velocity, ...outer.settings },
        pending: null,
      });
      outer.recordSync();
    }
    await kernels.averagingStep({
      x: ready.values,
      pair: { theirs: params, mine: ready.snapshot, step: 1 }, // x̄ + 1·(params − snapshot)
      outer: null,
      pending: null,
    });
    params.set(ready.values);
  }
}
