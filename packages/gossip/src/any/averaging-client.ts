/**
 * The page's end of the worker's averaging (averaging-service.ts): the trainer's averaging hook as
 * the volunteer page passes it (it matches packages/trainer's AveragingHook structurally), which
 * asks the worker to average after each shard instead of doing the maths itself, and the page's
 * half of the link bridge — the LinkHost of the identity the page joined as — attached to each
 * worker the trainer starts (a crashed worker's successor included).
 */
import type { AveragingSpec } from '@tabswarm/protocol';
import type {
  AveragingKernelStats,
  AveragingPageMessage,
  AveragingWorkerMessage,
  ReceivedFrameNote,
  TestExchangeResult,
  TestFrameResult,
} from './averaging-protocol.ts';
import type { BridgeEndpoint } from './bridge-protocol.ts';
import type { LinkHost } from './link-host.ts';
import type { ShardHookContext } from './swarm-averaging.ts';

/** What the hook needs of the volunteer runtime: each job's settings and this node's identity. */
export interface AveragingClientRuntime {
  averagingOf(jobId: string): AveragingSpec | undefined;
  readonly accepted: { readonly nodeId: string; readonly peerjs: { readonly token: string } } | null;
}

export interface AveragingClientOptions {
  readonly runtime: AveragingClientRuntime;
  /** The coordinator's origin (FedAvg uploads go there from the worker). */
  readonly baseUrl: string;
  /** Each frame the worker's mesh received (the page's debug table). */
  readonly onFrame?: (note: ReceivedFrameNote) => void;
}

interface Waiting {
  resolve(message: AveragingWorkerMessage | null): void;
}

export class AveragingClient {
  readonly #options: AveragingClientOptions;
  readonly #waiting = new Map<number, Waiting>();
  #control: BridgeEndpoint | null = null;
  #links: BridgeEndpoint | null = null;
  #host: LinkHost | null = null;
  #nextId = 1;
  #closed = false;
  readonly #onMessage = (event: MessageEvent): void => this.#handle(event.data as AveragingWorkerMessage);

  constructor(options: AveragingClientOptions) {
    this.#options = options;
  }

  /** A new trainer worker: its averaging channel and link bridge (the old worker's are dropped). */
  attachWorker(control: BridgeEndpoint, links: BridgeEndpoint): void {
    if (this.#closed) return;
    this.#control?.removeEventListener('message', this.#onMessage);
    this.#settleAll();
    this.#control = control;
    this.#links = links;
    control.addEventListener('message', this.#onMessage);
    control.start?.();
    this.#host?.attach(links);
  }

  /** The worker at `control` died: what it was asked is answered "gone" (its successor attaches later). */
  workerGone(control: BridgeEndpoint): void {
    if (this.#control !== control) return;
    this.#control.removeEventListener('message', this.#onMessage);
    this.#control = null;
    this.#settleAll();
  }

  /** The identity's links and coordinator port (a new node id replaces the old host). */
  setHost(host: LinkHost | null): void {
    if (this.#host === host) return;
    this.#host?.close();
    this.#host = host;
    if (host !== null && this.#links !== null) host.attach(this.#links);
  }

  get host(): LinkHost | null {
    return this.#host;
  }

  async afterShard(params: { readonly jobId: string }, context: ShardHookContext): Promise<void> {
    const spec = this.#options.runtime.averagingOf(params.jobId);
    const accepted = this.#options.runtime.accepted;
    if (spec === undefined || accepted === null || this.#host === null || context.signal.aborted) return;
    const id = this.#nextId++;
    const onAbort = (): void => this.#send({ t: 'abort', id });
    context.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const reply = await this.#request(id, {
        t: 'afterShard',
        id,
        jobId: params.jobId,
        lease: { jobId: context.lease.jobId, start: context.lease.start, end: context.lease.end },
        spec,
        identity: {
          baseUrl: this.#options.baseUrl,
          nodeId: accepted.nodeId,
          sessionToken: accepted.peerjs.token,
        },
      });
      if (reply === null)
        throw Object.assign(new Error('the trainer worker is gone'), { code: 'WORKER_CRASHED' });
      if (reply.t === 'done' && reply.error !== null) {
        throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
      }
    } finally {
      context.signal.removeEventListener('abort', onAbort);
    }
  }

  async sendTestFrame(peerId: string, elements: number): Promise<TestFrameResult> {
    const id = this.#nextId++;
    const reply = await this.#request(id, { t: 'testFrame', id, peerId, elements });
    return reply?.t === 'testFrameSent'
      ? reply.result
      : { ok: false, bytes: 0, checksum: 0, error: 'the trainer worker is gone' };
  }

  async testExchange(
    peerId: string | null,
    elements: number,
    seed: number,
    sample: readonly number[],
    timeoutMs: number,
  ): Promise<TestExchangeResult> {
    const id = this.#nextId++;
    const reply = await this.#request(id, {
      t: 'testExchange',
      id,
      peerId,
      elements,
      seed,
      sample,
      timeoutMs,
    });
    return reply?.t === 'testExchanged'
      ? reply.result
      : { ok: false, error: 'the trainer worker is gone', sampled: [], durationMs: 0 };
  }

  async stats(): Promise<AveragingKernelStats | null> {
    const id = this.#nextId++;
    const reply = await this.#request(id, { t: 'stats', id });
    return reply?.t === 'stats' ? reply.stats : null;
  }

  blockPeers(nodeIds: readonly string[]): void {
    this.#send({ t: 'block', nodeIds: [...nodeIds] });
  }

  unblockPeers(): void {
    this.#send({ t: 'unblock' });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#host?.close();
    this.#host = null;
    this.#control?.removeEventListener('message', this.#onMessage);
    this.#control = null;
    this.#settleAll();
  }

  /** Sends `message` and resolves with the worker's reply to `id`, or null if the worker goes away. */
  #request(id: number, message: AveragingPageMessage): Promise<AveragingWorkerMessage | null> {
    if (this.#control === null || this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.#waiting.set(id, { resolve });
      this.#send(message);
    });
  }

  #send(message: AveragingPageMessage): void {
    this.#control?.postMessage(message);
  }

  #handle(message: AveragingWorkerMessage): void {
    if (message.t === 'frame') {
      this.#options.onFrame?.(message.note);
      return;
    }
    const waiting = this.#waiting.get(message.id);
    this.#waiting.delete(message.id);
    waiting?.resolve(message);
  }

  /** Answers every request in flight with "the worker is gone". */
  #settleAll(): void {
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) w.resolve(null);
  }
}
