/**
 * The worker's averaging: where the parameters live (the trainer's Web Worker), the gossip mesh
 * runs over the page's links (bridged-ports.ts) and the averaging after each shard — gossip or
 * FedAvg, by the job's mode — reads and writes the parameters in place, with the WGSL kernels on
 * TensorFlow.js's WebGPU backend and the TypeScript references on the fallbacks. The page sends a
 * request per shard over the averaging channel (averaging-protocol.ts) and moves chunks; it never
 * holds, decodes or averages a parameter vector.
 */
import { mulberry32, randomVector } from '@tabswarm/core';
import { encodeFp32Frame, type AveragingSpec } from '@tabswarm/protocol';
import { GossipAverager } from './averager.ts';
import type { ExchangeResult } from './averager-types.ts';
import type {
  AveragingIdentity,
  AveragingKernelStats,
  AveragingPageMessage,
  AveragingWorkerMessage,
  ReceivedFrameNote,
  TestExchangeResult,
  TestFrameResult,
} from './averaging-protocol.ts';
import type { BridgeEndpoint } from './bridge-protocol.ts';
import { BridgedPorts, type BridgedPortsOptions } from './bridged-ports.ts';
import { httpFedAvgPort } from './fedavg-client.ts';
import type { AveragingKernelSet } from './kernel-set.ts';
import type { GossipKernels } from './kernels.ts';
import type { GossipMesh } from './mesh.ts';
import type { ReceiveEvent } from './reassembler.ts';
import { SwarmAveraging, type ShardParameterAccess } from './swarm-averaging.ts';

export interface AveragingServiceOptions {
  /** The averaging channel's worker end. */
  readonly control: BridgeEndpoint;
  /** The link bridge's worker end. */
  readonly links: BridgeEndpoint;
  /** The loaded job's parameters, read and written in place (the worker's compute). */
  readonly parameters: (jobId: string) => ShardParameterAccess;
  /** The kernels for the backend the trainer runs on, asked when the first averager is made. */
  readonly kernels: () => AveragingKernelSet;
  readonly fetch?: typeof fetch;
  /** The mesh's options (dial timeout …). */
  readonly mesh?: BridgedPortsOptions['mesh'];
}

/** The largest test frame or test exchange: 64 Mi elements, 256 MiB. */
const MAX_TEST_ELEMENTS = 1 << 26;
const MAX_TEST_SAMPLES = 4096;
const TEST_JOB_ID = 'selftest-avg';

/** Counts each kernel's calls (the stats the page and its tests read). */
function counted(kernels: GossipKernels, calls: Record<string, number>): GossipKernels {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(kernels)) {
    wrapped[name] =
      typeof fn === 'function'
        ? (...args: unknown[]): unknown => {
            calls[name] = (calls[name] ?? 0) + 1;
            return (fn as (...a: unknown[]) => unknown)(...args);
          }
        : fn;
  }
  return wrapped as unknown as GossipKernels;
}

function frameNote(event: ReceiveEvent): ReceivedFrameNote {
  if (event.ok) {
    const { header } = event.frame;
    return { from: event.peerId, elementCount: header.elementCount, checksum: header.checksum, ok: true };
  }
  return {
    from: event.peerId,
    elementCount: 0,
    checksum: 0,
    ok: false,
    error: `${event.code}: ${event.message}`,
  };
}

/** An exchange that did not apply, as a test exchange's error says it: outcome, partner, reason. */
const exchangeFailure = (result: ExchangeResult): string =>
  `${result.outcome} with ${result.partner ?? 'nobody'}: ${result.reason ?? ''}`;

export class AveragingService {
  readonly #options: AveragingServiceOptions;
  readonly #ports: BridgedPorts;
  readonly #specs = new Map<string, AveragingSpec>();
  /** The afterShard requests being served, to abort on the page's word. */
  readonly #inFlight = new Map<number, AbortController>();
  readonly #calls: Record<string, number> = {};
  #blocked: readonly string[] = [];
  #identity: AveragingIdentity | null = null;
  #averaging: SwarmAveraging | null = null;
  #kernels: AveragingKernelSet | null = null;
  #exchanges = 0;
  #testAnswering = false;
  #offFrames: (() => void) | null = null;

  constructor(options: AveragingServiceOptions) {
    this.#options = options;
    this.#ports = new BridgedPorts(options.links, {
      ...(options.mesh === undefined ? {} : { mesh: options.mesh }),
      onMesh: (mesh) => this.#meshChanged(mesh),
    });
    options.control.addEventListener(
      'message',
      (event: MessageEvent) => void this.#handle(event.data as AveragingPageMessage),
    );
    options.control.start?.();
  }

  #post(message: AveragingWorkerMessage): void {
    this.#options.control.postMessage(message);
  }

  #meshChanged(mesh: GossipMesh | null): void {
    this.#offFrames?.();
    this.#offFrames = null;
    if (mesh === null) return;
    if (this.#blocked.length > 0) mesh.blockPeers(this.#blocked);
    this.#offFrames = mesh.onFrame((event) => this.#post({ t: 'frame', note: frameNote(event) }));
  }

  #kernelSet(): AveragingKernelSet {
    if (this.#kernels === null) {
      const chosen = this.#options.kernels();
      this.#kernels = { ...chosen, kernels: counted(chosen.kernels, this.#calls) };
    }
    return this.#kernels;
  }

  #swarmAveraging(): SwarmAveraging {
    this.#averaging ??= new SwarmAveraging({
      mesh: () => this.#ports.mesh,
      kernels: this.#kernelSet().kernels,
      averaging: (jobId) => this.#specs.get(jobId),
      fedAvgPort: (jobId) =>
        httpFedAvgPort({
          baseUrl: this.#identity?.baseUrl ?? '',
          jobId,
          nodeId: this.#identity?.nodeId ?? '',
          sessionToken: () => this.#identity?.sessionToken ?? '',
          ...(this.#options.fetch === undefined ? {} : { fetch: this.#options.fetch }),
        }),
      onAverager: (averager) =>
        averager.onExchange((result) => void (result.outcome === 'ok' && this.#exchanges++)),
    });
    return this.#averaging;
  }

  async #handle(message: AveragingPageMessage): Promise<void> {
    switch (message.t) {
      case 'afterShard':
        await this.#afterShard(message);
        break;
      case 'abort':
        this.#inFlight.get(message.id)?.abort();
        break;
      case 'testFrame':
        this.#post({
          t: 'testFrameSent',
          id: message.id,
          result: await this.#testFrame(message.peerId, message.elements),
        });
        break;
      case 'testExchange':
        this.#post({ t: 'testExchanged', id: message.id, result: await this.#testExchange(message) });
        break;
      case 'block':
        this.#blocked = [...new Set([...this.#blocked, ...message.nodeIds])].slice(0, 4096);
        this.#ports.mesh?.blockPeers(message.nodeIds);
        break;
      case 'unblock':
        this.#blocked = [];
        this.#ports.mesh?.unblockAll();
        break;
      case 'stats':
        this.#post({ t: 'stats', id: message.id, stats: this.stats() });
        break;
    }
  }

  stats(): AveragingKernelStats {
    return {
      implementation: this.#kernels?.implementation ?? null,
      calls: { ...this.#calls },
      dispatches: this.#kernels?.dispatches() ?? {},
      exchanges: this.#exchanges,
      testAnswering: this.#testAnswering,
      links: this.#ports.linkPaths,
    };
  }

  async #afterShard(message: Extract<AveragingPageMessage, { t: 'afterShard' }>): Promise<void> {
    const { id } = message;
    this.#identity = message.identity;
    this.#specs.clear(); // one job at a time: only the current one's settings are kept
    this.#specs.set(message.jobId, message.spec);
    const controller = new AbortController();
    this.#inFlight.set(id, controller);
    let error: { code: string; message: string } | null = null;
    try {
      const params = this.#options.parameters(message.jobId);
      await this.#swarmAveraging().afterShard(
        {
          jobId: params.jobId,
          read: () => params.read(),
          write: (values) => (controller.signal.aborted ? Promise.resolve() : params.write(values)),
        },
        { lease: message.lease, signal: controller.signal },
      );
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      error = {
        code: typeof code === 'string' ? code : 'AVERAGING_FAILED',
        message: e instanceof Error ? e.message : String(e),
      };
    } finally {
      this.#inFlight.delete(id);
    }
    this.#post({ t: 'done', id, error });
  }

  async #testFrame(peerId: string, elements: number): Promise<TestFrameResult> {
    const fail = (error: string): TestFrameResult => ({ ok: false, bytes: 0, checksum: 0, error });
    const mesh = this.#ports.mesh;
    if (mesh === null) return fail('not connected to any peer network');
    if (peerId === mesh.nodeId) return fail('cannot send a frame to this node itself');
    if (!Number.isSafeInteger(elements) || elements < 1 || elements > MAX_TEST_ELEMENTS)
      return fail(`elements must be an integer in 1..${MAX_TEST_ELEMENTS}`);
    const connected = await mesh.connect(peerId);
    if (!connected.ok) return fail(`${connected.code}: ${connected.message}`);
    const values = randomVector(mulberry32((Math.random() * 2 ** 32) >>> 0), elements);
    const frame = encodeFp32Frame({ jobId: 'selftest', senderId: mesh.nodeId, round: 0, values });
    const outcome = await connected.transport.sendFrame(frame);
    if (outcome.ok) return { ok: true, bytes: outcome.bytes, checksum: outcome.checksum };
    return { ok: false, bytes: outcome.bytes, checksum: 0, error: `${outcome.code}: ${outcome.message}` };
  }

  /**
   * One gossip exchange of `elements` seeded values with the averaging maths of a job (fp32): the
   * initiator (`peerId` given) exchanges with it, the other side (null) answers within the timeout.
   */
  async #testExchange(
    message: Extract<AveragingPageMessage, { t: 'testExchange' }>,
  ): Promise<TestExchangeResult> {
    const started = performance.now();
    const fail = (error: string): TestExchangeResult => ({ ok: false, error, sampled: [], durationMs: 0 });
    const mesh = this.#ports.mesh;
    if (mesh === null) return fail('not connected to any peer network');
    const { elements, sample, timeoutMs } = message;
    if (!Number.isSafeInteger(elements) || elements < 1 || elements > MAX_TEST_ELEMENTS)
      return fail(`elements must be an integer in 1..${MAX_TEST_ELEMENTS}`);
    if (
      sample.length > MAX_TEST_SAMPLES ||
      !sample.every((i) => Number.isSafeInteger(i) && i >= 0 && i < elements)
    )
      return fail(`sample: at most ${MAX_TEST_SAMPLES} indices in 0..${elements - 1}`);
    const averager = new GossipAverager({
      mesh,
      jobId: TEST_JOB_ID,
      averaging: {
        schedule: 'random',
        codec: 'fp32',
        topkFraction: 0.01,
        exchangeTimeoutMs: Math.min(Math.max(timeoutMs, 100), 600_000),
        maxNormRatio: 10,
      },
      kernels: this.#kernelSet().kernels,
      initial: randomVector(mulberry32(message.seed), elements),
      report: false,
    });
    try {
      // Why it failed, for the error: the exchange's outcome and reason, as this side saw it.
      let failure = 'no request arrived in time';
      let ok: boolean;
      if (message.peerId !== null) {
        const result = await averager.exchangeWith(message.peerId);
        ok = result.outcome === 'ok' && result.partner === message.peerId;
        failure = exchangeFailure(result);
      } else {
        // A request that arrives before this averager exists is dropped (no averager has its job)
        // and costs the initiator its whole timeout: tests wait for this flag before initiating.
        this.#testAnswering = true;
        ok = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), timeoutMs);
          averager.onExchange((result) => {
            if (result.outcome !== 'ok') {
              failure = exchangeFailure(result);
              return;
            }
            clearTimeout(timer);
            resolve(true);
          });
        });
      }
      const x = averager.current();
      return {
        ok,
        ...(ok ? {} : { error: `no exchange completed (${failure})` }),
        sampled: sample.map((i) => x[i] ?? Number.NaN),
        durationMs: performance.now() - started,
      };
    } finally {
      if (message.peerId === null) this.#testAnswering = false;
      averager.close();
    }
  }
}
