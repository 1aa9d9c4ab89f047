/**
 * The exchange state machine: one pairwise exchange at a time, as initiator or responder, from
 * request to commit or abort (see averager.ts for the protocol). It checks what arrives with the
 * receipt checks, averages with the pure averaging maths, and keeps the pair states of compressed
 * codecs. The averager (rounds, parameters, stats) is its host.
 *
 * One exchange, initiator A and responder B, exchange id x (frames carry x as their round):
 *   A → B  xreq {x, job, round, codec, n, param, epoch}     B → A  xrep accept | busy | refuse
 *   A ⇄ B  each sends its frame at once (fp32: the model; other codecs: the difference from the
 *          pair's shared reference)
 *   each checks what it received and answers xok or xabort; each averages only with its own check
 *   passed and the partner's xok (then, with the outer optimizer, takes its outer step from the
 *   average), so both average or neither does (short of a link dying between
 *   the two xoks, after which the pair state epochs disagree and the next exchange starts afresh).
 */
import { distanceFrom } from '@tabswarm/core';
import {
  encodeFrame,
  framePayload,
  type ExchangeOutcome,
  type ExchangeRole,
  type GossipControl,
} from '@tabswarm/protocol';
import { emptyResult } from './averager-stats.ts';
import type { AveragingSettings, ExchangeResult } from './averager-types.ts';
import { agreedRadius, ClipRadius, clipFactor } from './pair-clipping.ts';
import type { GossipCodec } from './codecs.ts';
import type { FrameTransport } from './frame-transport.ts';
import type { GossipKernels } from './kernels.ts';
import type { GossipMesh } from './mesh.ts';
import type { OuterState } from './outer-optimizer.ts';
import type { Exchange, ExchangeHost, ExchangeMachineOptions } from './exchange-types.ts';
import { PairStates } from './pair-states.ts';
import type { ReceiveEvent } from './reassembler.ts';
import { headerRejection, payloadRejection, QUARANTINE_REASONS, valuesRejection } from './receipt-checks.ts';

export type { ExchangeHost, ExchangeMachineOptions } from './exchange-types.ts';

const randomId = (): number => (Math.random() * 0xffffffff) >>> 0;

/** What an exchange that timed out was still waiting for, for its reason (diagnosis of stalls). */
function waitingFor(ex: Exchange): string {
  if (ex.onReply !== null) return 'waiting for its reply to the request';
  const waiting: string[] = [];
  if (!ex.ownSent) waiting.push("this node's frame to be encoded");
  else if (!ex.ownDelivered) waiting.push("its acknowledgement of this node's frame");
  if (ex.theirs === null) waiting.push(ex.checking ? 'the checks on its frame' : 'its frame');
  if (!ex.partnerOk) waiting.push('its xok');
  return waiting.length === 0 ? 'nothing (settling)' : `waiting for ${waiting.join(', ')}`;
}

export class ExchangeMachine {
  readonly codec: GossipCodec;
  readonly #host: ExchangeHost;
  readonly #mesh: GossipMesh;
  readonly #kernels: GossipKernels;
  readonly #settings: AveragingSettings;
  readonly #quarantineMs: number;
  readonly #step: number;
  readonly #outer: OuterState | null;
  readonly #pairs: PairStates;
  readonly #clip: ClipRadius;
  readonly #idleWaiters = new Set<() => void>();
  #active: Exchange | null = null;
  #closed = false;
  /** Counts resetPairs: a commit that straddles one keeps no pair state for the old parameters. */
  #generation = 0;

  constructor(host: ExchangeHost, options: ExchangeMachineOptions) {
    this.#host = host;
    this.#mesh = options.mesh;
    this.#kernels = options.kernels;
    this.codec = options.codec;
    this.#settings = options.settings;
    this.#quarantineMs = options.quarantineMs;
    this.#step = options.step;
    this.#outer = options.outer;
    this.#pairs = new PairStates(options.maxPairStates);
    this.#clip = new ClipRadius(options.settings.clipMultiple);
  }

  /** Forgets every pair's references (new parameters: a new job or a checkpoint). */
  resetPairs(): void {
    this.#pairs.clear();
    this.#generation++;
  }

  /** Fails the exchange in progress, if any, and refuses every later one. */
  close(): void {
    this.#closed = true;
    if (this.#active !== null) this.#settle(this.#active, 'failed', 'closed');
  }

  /**
   * Runs one exchange with `peerId` as initiator; resolves when it settles (ok, busy, refused,
   * rejected, timeout, failed or unreachable), never rejects.
   */
  async initiate(peerId: string, round: number, deadline: number): Promise<ExchangeResult> {
    const connected = await this.#mesh.connect(peerId);
    if (!connected.ok) {
      const result = { ...emptyResult(round, 'unreachable', connected.message), partner: peerId };
      this.#host.settled(result);
      return result;
    }
    if (this.#active !== null || this.#closed)
      return { ...emptyResult(round, 'busy', 'this node is in an exchange'), partner: peerId };
    const n = this.#host.parameters().length;
    const param = this.codec.param(n);
    // The exchange gets its full timeout once a link is up, however long making the link took.
    const exchangeDeadline = Math.max(deadline, Date.now() + this.#settings.exchangeTimeoutMs);
    const ex = this.#open(
      randomId(),
      peerId,
      'initiator',
      round,
      param,
      connected.transport,
      connected.kind,
      exchangeDeadline,
    );
    const pair = this.#pairs.get(peerId);
    ex.ownClip = this.#clip.offer();
    const request: GossipControl = {
      t: 'xreq',
      x: ex.id,
      job: this.#host.jobId,
      round,
      codec: this.codec.name,
      n,
      param,
      epoch: this.codec.differential && pair !== undefined ? pair.epoch : null,
      ...(ex.ownClip !== undefined && { clip: ex.ownClip }),
    };
    ex.onReply = (reply) => {
      ex.onReply = null;
      if (reply.verdict === 'busy') this.#settle(ex, 'busy', reply.reason);
      else if (reply.verdict === 'refuse') this.#settle(ex, 'refused', reply.reason);
      else {
        ex.partnerClip = reply.clip;
        ex.reset = reply.reset || pair === undefined;
        void this.#sendOwn(ex);
      }
    };
    this.#control(ex, request);
    return ex.done;
  }

  #respond(peerId: string, request: Extract<GossipControl, { t: 'xreq' }>, transport: FrameTransport): void {
    const refuse = (verdict: 'busy' | 'refuse', reason: string): void => {
      transport.sendControl({
        t: 'xrep',
        x: request.x,
        verdict,
        reason,
        reset: false,
      } satisfies GossipControl);
    };
    if (this.#closed) return refuse('refuse', 'closed');
    if (this.#active !== null) return refuse('busy', 'in another exchange');
    if (this.#mesh.isQuarantined(peerId)) return refuse('refuse', 'quarantined');
    const notYet = this.#host.busyFor(request.round);
    if (notYet !== null) return refuse('busy', notYet);
    const n = this.#host.parameters().length;
    if (request.job !== this.#host.jobId)
      return refuse('refuse', `this node averages job ${this.#host.jobId}`);
    if (request.codec !== this.codec.name) return refuse('refuse', `this node uses codec ${this.codec.name}`);
    if (request.n !== n) return refuse('refuse', `this node holds ${n} parameters`);
    if (request.param !== this.codec.param(n)) return refuse('refuse', 'codec parameter differs');
    const kind = transport.link.kind ?? 'direct';
    const ex = this.#open(
      request.x,
      peerId,
      'responder',
      request.round,
      request.param,
      transport,
      kind,
      Date.now() + this.#settings.exchangeTimeoutMs,
    );
    const pair = this.#pairs.get(peerId);
    ex.reset =
      this.codec.differential &&
      (pair === undefined || request.epoch === null || pair.epoch !== request.epoch);
    ex.partnerClip = request.clip;
    ex.ownClip = this.#clip.offer();
    this.#control(ex, {
      t: 'xrep',
      x: ex.id,
      verdict: 'accept',
      reason: null,
      reset: ex.reset,
      ...(ex.ownClip !== undefined && { clip: ex.ownClip }),
    });
    void ex.done.then((result) => this.#host.answered(peerId, result));
    void this.#sendOwn(ex);
  }

  #open(
    id: number,
    peerId: string,
    role: ExchangeRole,
    round: number,
    param: number,
    transport: FrameTransport,
    link: 'direct' | 'relay',
    deadline: number,
  ): Exchange {
    let resolve: (result: ExchangeResult) => void = () => undefined;
    const done = new Promise<ExchangeResult>((r) => (resolve = r));
    const ex: Exchange = {
      id,
      peerId,
      role,
      round,
      param,
      startedAt: Date.now(),
      transport,
      link,
      reset: false,
      ownSent: false,
      ownDelivered: false,
      checking: false,
      mineNext: null,
      theirs: null,
      distance: null,
      ownClip: undefined,
      partnerClip: undefined,
      partnerOk: false,
      committing: false,
      bytesOut: 0,
      bytesIn: 0,
      settled: false,
      onReply: null,
      done,
      resolve,
      timer: setTimeout(
        () => this.#settle(ex, 'timeout', `no answer from ${peerId} in time: ${waitingFor(ex)}`),
        Math.max(0, deadline - Date.now()),
      ),
      unpin: this.#mesh.pin(peerId),
      offClose: () => undefined,
    };
    this.#active = ex;
    ex.offClose = transport.onClose(() => this.#settle(ex, 'failed', 'the link closed'));
    return ex;
  }

  /** Encodes and sends this side's frame: the model (fp32) or C(x − ĥ_mine). */
  async #sendOwn(ex: Exchange): Promise<void> {
    try {
      let payload;
      if (!this.codec.differential) {
        payload = await this.codec.encode(this.#host.parameters(), ex.param);
      } else {
        const pair = ex.reset ? undefined : this.#pairs.get(ex.peerId);
        const reference = pair?.mine;
        const diff = await this.#kernels.difference(this.#host.parameters(), reference);
        payload = await this.codec.encode(diff, ex.param);
        const mineNext = reference === undefined ? new Float32Array(diff.length) : reference.slice();
        await this.codec.accumulate(mineNext, payload);
        ex.mineNext = mineNext;
      }
      if (ex.settled) return;
      const frame = encodeFrame({
        jobId: this.#host.jobId,
        senderId: this.#mesh.nodeId,
        round: ex.id,
        payload,
      });
      ex.bytesOut += ex.transport.wireBytes(frame.length);
      ex.ownSent = true;
      void ex.transport.sendFrame(frame).then((outcome) => {
        if (outcome.ok) {
          ex.ownDelivered = true;
          return;
        }
        if (outcome.code === 'REMOTE_REJECTED') {
          this.#settle(
            ex,
            'rejected',
            `${ex.peerId} could not take this node's frame: ${outcome.remoteCode ?? '?'}`,
          );
        } else {
          this.#settle(ex, 'failed', `${outcome.code}: ${outcome.message}`);
        }
      });
      this.#tryCommit(ex);
    } catch (error) {
      this.#settle(ex, 'failed', error instanceof Error ? error.message : String(error));
    }
  }

  /** A frame from the mesh: the partner's frame of the exchange in progress is checked, then held for the commit. */
  async onFrame(event: ReceiveEvent): Promise<void> {
    const ex = this.#active;
    if (ex === null || ex.settled || ex.peerId !== event.peerId) {
      if (event.ok) this.#mesh.recordRejection(event.peerId, 'UNEXPECTED');
      return;
    }
    if (!event.ok) {
      // The transport already told the sender; this side's exchange is over too.
      this.#reject(ex, event.code, false);
      return;
    }
    ex.bytesIn += ex.transport.wireBytes(event.bytes);
    const { header } = event.frame;
    const n = this.#host.parameters().length;
    if (header.round !== ex.id) {
      // A late frame of an earlier exchange with this peer: not for us, not the peer's fault.
      this.#mesh.recordRejection(ex.peerId, 'WRONG_ROUND');
      return;
    }
    const expected = {
      jobId: this.#host.jobId,
      senderId: ex.peerId,
      codec: this.codec,
      length: n,
      param: ex.param,
    };
    const badHeader = headerRejection(header, expected);
    if (badHeader !== null) return this.#reject(ex, badHeader);
    const payload = framePayload(event.frame);
    const badPayload = payloadRejection(payload, expected);
    if (badPayload !== null) return this.#reject(ex, badPayload);
    ex.checking = true;
    try {
      let theirs: Float32Array;
      if (!this.codec.differential) {
        theirs = payload.codec === 'fp32' ? payload.values : new Float32Array(n);
      } else {
        const reference = ex.reset ? undefined : this.#pairs.get(ex.peerId)?.theirs;
        theirs = reference === undefined ? new Float32Array(n) : reference.slice();
        await this.codec.accumulate(theirs, payload);
      }
      if (ex.settled) return;
      const bad = await valuesRejection(
        this.#kernels,
        this.#host.parameters(),
        theirs,
        this.#settings.maxNormRatio,
        this.codec,
      );
      if (bad !== null) return this.#reject(ex, bad);
      const distance = await this.#kernels.relativeDistance(this.#host.parameters(), theirs);
      if (ex.settled) return;
      ex.theirs = theirs;
      ex.distance = Number.isFinite(distance) ? distance : null;
      this.#control(ex, { t: 'xok', x: ex.id });
      this.#tryCommit(ex);
    } catch (error) {
      this.#settle(ex, 'failed', error instanceof Error ? error.message : String(error));
    }
  }

  /** Answers a request, or hands a control message to the exchange it belongs to. */
  onControl(peerId: string, message: GossipControl, transport: FrameTransport): void {
    if (message.t === 'xreq') {
      this.#respond(peerId, message, transport);
      return;
    }
    const ex = this.#active;
    if (ex === null || ex.settled || ex.peerId !== peerId || !('x' in message) || message.x !== ex.id) return;
    ex.bytesIn += 32 + JSON.stringify(message).length;
    if (message.t === 'xrep') ex.onReply?.(message);
    else if (message.t === 'xok') {
      ex.partnerOk = true;
      this.#tryCommit(ex);
    } else if (message.t === 'xabort') {
      this.#settle(ex, 'rejected', `${peerId} rejected this node's frame: ${message.reason}`);
    }
  }

  #reject(ex: Exchange, reason: string, tell = true): void {
    this.#mesh.recordRejection(ex.peerId, reason);
    if (QUARANTINE_REASONS.has(reason)) this.#mesh.quarantine(ex.peerId, this.#quarantineMs);
    if (tell) this.#control(ex, { t: 'xabort', x: ex.id, reason });
    this.#settle(ex, 'rejected', reason);
  }

  /** Averages once this side's frame went out, the partner's passed the checks, and the partner said xok. */
  #tryCommit(ex: Exchange): void {
    if (ex.settled || ex.committing || !ex.ownSent || !ex.partnerOk || ex.theirs === null) return;
    ex.committing = true;
    void this.#commit(ex, ex.theirs);
  }

  /**
   * The averaging step of a decided exchange, by the kernels (WGSL on WebGPU). While it is
   * computed the exchange is decided — both frames passed, both sides said xok — so a timeout or a
   * closing link no longer cancels it (#settle waits for it), and no other exchange starts.
   */
  async #commit(ex: Exchange, theirs: Float32Array): Promise<void> {
    try {
      const x = this.#host.parameters();
      const pending = this.#host.pendingSink();
      // Clipped gossip: both sides scale their step by the same factor (pair-clipping.ts); the
      // distance is the same bits whichever side computes it (float64 sum of squares, same order).
      const radius = agreedRadius(ex.ownClip, ex.partnerClip);
      const clipping = radius !== undefined || this.#clip.enabled;
      const mine = this.codec.differential ? (ex.mineNext as Float32Array) : null;
      const distance = clipping ? distanceFrom(mine ?? x, theirs) : 0;
      const factor = clipFactor(distance, radius);
      // fp32: x + ½·factor·(theirs − x), the exact pair average unclipped; compressed: x + γ(ĥ_theirs − ĥ_mine).
      const step = mine === null ? 0.5 * factor : this.#step * factor;
      const outer = this.#outer;
      const generation = this.#generation;
      // With the outer optimizer the step goes on from the pair's average to the new synchronised model.
      await this.#kernels.averagingStep({
        x,
        pair: { theirs, mine, step },
        outer: outer === null ? null : { synced: outer.synced, velocity: outer.velocity, ...outer.settings },
        pending,
      });
      if (clipping) this.#clip.record(distance);
      if (generation === this.#generation) outer?.recordSync();
      if (mine !== null && generation === this.#generation)
        this.#pairs.commit(ex.peerId, { epoch: ex.id, mine, theirs });
      ex.committing = false;
      this.#settle(ex, 'ok', null);
    } catch (error) {
      ex.committing = false;
      this.#settle(ex, 'failed', error instanceof Error ? error.message : String(error));
    }
  }

  #control(ex: Exchange, message: GossipControl): void {
    ex.bytesOut += ex.transport.sendControl(message);
  }

  #settle(ex: Exchange, outcome: ExchangeOutcome, reason: string | null): void {
    if (ex.settled || ex.committing) return;
    ex.settled = true;
    clearTimeout(ex.timer);
    ex.unpin();
    ex.offClose();
    if (this.#active === ex) this.#active = null;
    if (outcome !== 'ok' && this.codec.differential) {
      // This side did not commit: whatever the partner did, the next exchange starts afresh.
      this.#pairs.drop(ex.peerId);
    }
    const result: ExchangeResult = {
      exchangeId: ex.id,
      partner: ex.peerId,
      role: ex.role,
      round: ex.round,
      outcome,
      reason,
      distance: ex.distance,
      bytesOut: ex.bytesOut,
      bytesIn: ex.bytesIn,
      durationMs: Date.now() - ex.startedAt,
      link: ex.link,
    };
    this.#host.settled(result);
    ex.resolve(result);
    for (const waiter of [...this.#idleWaiters]) waiter();
  }

  /** Resolves once no exchange is in progress. */
  whenIdle(): Promise<void> {
    if (this.#active === null) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.#active !== null) return;
        this.#idleWaiters.delete(check);
        resolve();
      };
      this.#idleWaiters.add(check);
    });
  }
}
