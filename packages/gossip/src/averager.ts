/**
 * Gossip averaging: one pairwise exchange at a time, partners from the live membership by the
 * job's schedule, both sides replacing their parameters by the pair's average so that the swarm's
 * mean is preserved. No global barrier: a partner that is busy is retried or skipped, one that does
 * not answer costs one timeout, and a node never waits for more than its partner.
 *
 * One exchange, initiator A and responder B, exchange id x (frames carry x as their round):
 *   A → B  xreq {x, job, round, codec, n, param, epoch}     B → A  xrep accept | busy | refuse
 *   A ⇄ B  each sends its frame at once (fp32: the model; other codecs: the difference from the
 *          pair's shared reference, see below)
 *   each checks what it received (job, sender, x, codec, length, finite values, norm within
 *   maxNormRatio of its own) and answers xok or xabort; each averages only with its own check
 *   passed and the partner's xok, so both average or neither does (short of a link dying between
 *   the two xoks, after which the pair state epochs disagree and the next exchange starts afresh).
 *
 * Compressed codecs keep, per partner, the two references both sides share: ĥ_mine (what the
 * partner knows of this model) and ĥ_theirs. Each side sends C(x − ĥ_mine), both add the decoded
 * codes to their copies of the references, and each moves x ← x + γ(ĥ_theirs − ĥ_mine). The two
 * updates cancel exactly, so the mean is preserved whatever C loses; what C left out stays in
 * x − ĥ_mine and is sent later (CHOCO-gossip, pairwise). `epoch` (the last exchange both
 * committed) detects a pair whose states diverged; both then restart from zero references.
 *
 * While a trainer trains, exchanges answered for this node change a snapshot; the changes are
 * kept and added to the trainer's parameters at its next `afterShard`, so averaging never stops
 * training and training never blocks a partner.
 */
import {
  encodeFrame,
  framePayload,
  gossipJobIdSchema,
  type ExchangeOutcome,
  type ExchangeRole,
  type GossipControl,
} from '@tabswarm/protocol';
import type {
  AveragerStats,
  AveragingSettings,
  ExchangeResult,
  GossipAveragerOptions,
} from './averager-types.ts';
import { emptyResult, exchangeReport, ExchangeTally } from './averager-stats.ts';
import {
  averageInto,
  consensusStepInto,
  defaultConsensusStep,
  differenceFrom,
  mergePending,
} from './averaging-maths.ts';
import { createCodec, type GossipCodec } from './codecs.ts';
import type { FrameTransport } from './frame-transport.ts';
import type { GossipKernels } from './kernels.ts';
import type { GossipMesh } from './mesh.ts';
import { PairStates } from './pair-states.ts';
import type { ReceiveEvent } from './reassembler.ts';
import { headerRejection, payloadRejection, QUARANTINE_REASONS, valuesRejection } from './receipt-checks.ts';
import { scheduleFor, type PartnerSchedule } from './schedule.ts';

export type * from './averager-types.ts';

interface Exchange {
  readonly id: number;
  readonly peerId: string;
  readonly role: ExchangeRole;
  readonly round: number;
  readonly param: number;
  readonly startedAt: number;
  readonly transport: FrameTransport;
  readonly link: 'direct' | 'relay';
  reset: boolean;
  /** Set once this side's frame is on its way (and, for compressed codecs, ĥ_mine' is known). */
  ownSent: boolean;
  mineNext: Float32Array | null;
  /** The partner's model (fp32) or its reference ĥ_theirs' (compressed), checked. */
  theirs: Float32Array | null;
  distance: number | null;
  partnerOk: boolean;
  bytesOut: number;
  bytesIn: number;
  settled: boolean;
  onReply: ((reply: Extract<GossipControl, { t: 'xrep' }>) => void) | null;
  readonly done: Promise<ExchangeResult>;
  resolve(result: ExchangeResult): void;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly unpin: () => void;
  offClose: () => void;
}

interface Waiter {
  readonly peerId: string;
  readonly round: number;
  readonly resolve: (result: ExchangeResult) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const randomId = (): number => (Math.random() * 0xffffffff) >>> 0;

export class GossipAverager {
  readonly jobId: string;
  readonly codec: GossipCodec;
  readonly schedule: PartnerSchedule;
  readonly #mesh: GossipMesh;
  readonly #kernels: GossipKernels;
  readonly #settings: AveragingSettings;
  readonly #quarantineMs: number;
  readonly #step: number;
  readonly #random: () => number;
  readonly #report: boolean;
  readonly #pairs: PairStates;
  readonly #answered = new Map<string, ExchangeResult>();
  readonly #idleWaiters = new Set<() => void>();
  readonly #resultHandlers = new Set<(result: ExchangeResult) => void>();
  readonly #unsubscribe: (() => void)[];
  #x: Float32Array;
  /**
   * Changes made by exchanges this node answered while its trainer held the parameters (between
   * two afterShard calls, or before the first): added to the trainer's parameters at the next one.
   */
  #pending: Float32Array | null = null;
  /** Inside afterShard or runRound: changes land in #x, which the caller gets back. */
  #holding = false;
  /** Driven by runRound: rounds are kept in step with partners (see #respond). */
  #lockstep = false;
  #active: Exchange | null = null;
  #waiter: Waiter | null = null;
  #round = 0;
  #closed = false;
  readonly #tally = new ExchangeTally();

  constructor(options: GossipAveragerOptions) {
    if (!gossipJobIdSchema.safeParse(options.jobId).success) throw new RangeError('job id is not an id');
    this.jobId = options.jobId;
    this.#mesh = options.mesh;
    this.#kernels = options.kernels;
    this.#settings = options.averaging;
    this.codec = createCodec(options.averaging.codec, options.kernels, {
      topkFraction: options.averaging.topkFraction,
      ...(options.int8BlockSize !== undefined && { int8BlockSize: options.int8BlockSize }),
    });
    this.schedule = scheduleFor(options.averaging.schedule);
    this.#quarantineMs = options.quarantineMs ?? 60_000;
    this.#pairs = new PairStates(options.maxPairStates ?? 8);
    this.#step =
      options.consensusStep ?? defaultConsensusStep(options.averaging.codec, options.averaging.topkFraction);
    this.#random = options.random ?? Math.random;
    this.#report = options.report ?? true;
    this.#lockstep = options.lockstep ?? false;
    this.#x = options.initial.slice();
    this.#unsubscribe = [
      this.#mesh.onFrame((event) => void this.#onFrame(event)),
      this.#mesh.onControl((peerId, message, transport) => this.#onControl(peerId, message, transport)),
    ];
  }

  get nodeId(): string {
    return this.#mesh.nodeId;
  }

  /** The next gossip round this node will run. */
  get round(): number {
    return this.#round;
  }

  /** The averager's copy of the parameters (live: exchanges this node answers change it). */
  current(): Float32Array {
    return this.#x;
  }

  /** Replaces the parameters (a new job, a checkpoint): pair states and pending changes are dropped. */
  setParameters(values: Float32Array): void {
    this.#x = values.slice();
    this.#pairs.clear();
    this.#pending = null;
  }

  onExchange(handler: (result: ExchangeResult) => void): () => void {
    this.#resultHandlers.add(handler);
    return () => this.#resultHandlers.delete(handler);
  }

  stats(): AveragerStats {
    return this.#tally.snapshot(this.#round);
  }

  /**
   * The trainer's hook after each shard: takes the freshly trained parameters, adds the changes of
   * exchanges answered meanwhile, runs one exchange as initiator (skipping a busy or silent partner
   * after at most the exchange timeout), and writes the result back into `params`. Use either
   * afterShard (a trainer owns the parameters) or runRound (the averager does), not both.
   */
  async afterShard(params: Float32Array): Promise<Float32Array> {
    if (params.length !== this.#x.length) {
      throw new RangeError(
        `afterShard got ${params.length} parameters; the averager holds ${this.#x.length}`,
      );
    }
    await this.#whenIdle();
    mergePending(this.#x, params, this.#pending);
    this.#holding = true;
    try {
      await this.#runRound(false);
    } finally {
      this.#holding = false;
    }
    params.set(this.#x);
    return params;
  }

  /**
   * One gossip round without training (consensus runs, tests, simulations): pairs follow the
   * schedule in step, the lower id of a scheduled pair initiating and the higher one waiting for
   * it (up to half the timeout, then initiating itself).
   */
  async runRound(): Promise<ExchangeResult> {
    this.#lockstep = true;
    this.#holding = true;
    try {
      return await this.#runRound(true);
    } finally {
      this.#holding = false;
    }
  }

  close(): void {
    this.#closed = true;
    for (const undo of this.#unsubscribe) undo();
    if (this.#active !== null) this.#settle(this.#active, 'failed', 'closed');
    this.#waiter?.resolve(this.#emptyResult('failed', 'closed'));
  }

  async #runRound(lockstep: boolean): Promise<ExchangeResult> {
    const round = this.#round;
    const self = this.nodeId;
    const eligible = (peerId: string): boolean => peerId !== self && !this.#mesh.isQuarantined(peerId);
    const pick = this.schedule.partner(round, this.#mesh.members(), self, eligible, this.#random);
    if (pick === null || this.#closed) {
      this.#round++;
      return this.#emptyResult('alone', null);
    }
    const timeout = this.#settings.exchangeTimeoutMs;
    const deadline = Date.now() + timeout;
    let partner = pick.peerId;
    let result: ExchangeResult | null = null;
    if (lockstep && pick.scheduled && self > partner) {
      const answered = this.#answered.get(partner);
      result = answered !== undefined && answered.round === round ? answered : null;
      result ??= await this.#waitFor(partner, round, Date.now() + timeout / 2);
    }
    let attempts = 0;
    while (result === null && !this.#closed && Date.now() < deadline) {
      attempts++;
      const attempt = await this.#initiate(partner, round, deadline);
      if (attempt.outcome !== 'busy') {
        result = attempt;
        break;
      }
      // Busy (the partner's or ours): back off a little; an unscheduled partner is swapped for another.
      if (!lockstep && attempts >= 2) {
        result = attempt;
        break;
      }
      await sleep(10 + this.#random() * 40);
      if (!pick.scheduled)
        partner =
          this.schedule.partner(round, this.#mesh.members(), self, eligible, this.#random)?.peerId ?? partner;
    }
    this.#round = Math.max(this.#round, round + 1);
    return (
      result ?? {
        ...this.#emptyResult('timeout', `no exchange with ${partner} within ${timeout} ms`),
        partner,
      }
    );
  }

  #waitFor(peerId: string, round: number, until: number): Promise<ExchangeResult | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          if (this.#waiter === waiter) this.#waiter = null;
          resolve(null);
        },
        Math.max(0, until - Date.now()),
      );
      const waiter: Waiter = {
        peerId,
        round,
        resolve: (result) => {
          clearTimeout(timer);
          if (this.#waiter === waiter) this.#waiter = null;
          resolve(result);
        },
      };
      this.#waiter = waiter;
    });
  }

  async #initiate(peerId: string, round: number, deadline: number): Promise<ExchangeResult> {
    const connected = await this.#mesh.connect(peerId);
    if (!connected.ok) {
      const result = { ...this.#emptyResult('unreachable', connected.message), partner: peerId };
      this.#finish(result);
      return result;
    }
    if (this.#active !== null || this.#closed)
      return { ...this.#emptyResult('busy', 'this node is in an exchange'), partner: peerId };
    const n = this.#x.length;
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
    const request: GossipControl = {
      t: 'xreq',
      x: ex.id,
      job: this.jobId,
      round,
      codec: this.codec.name,
      n,
      param,
      epoch: this.codec.differential && pair !== undefined ? pair.epoch : null,
    };
    ex.onReply = (reply) => {
      ex.onReply = null;
      if (reply.verdict === 'busy') this.#settle(ex, 'busy', reply.reason);
      else if (reply.verdict === 'refuse') this.#settle(ex, 'refused', reply.reason);
      else {
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
    // In step: a partner already at a later round waits (busy, it retries) until this node gets
    // there, so each node averages its rounds in order (the hypercube is exact only then).
    if (this.#lockstep && request.round > this.#round) return refuse('busy', `at round ${this.#round}`);
    const n = this.#x.length;
    if (request.job !== this.jobId) return refuse('refuse', `this node averages job ${this.jobId}`);
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
    this.#control(ex, { t: 'xrep', x: ex.id, verdict: 'accept', reason: null, reset: ex.reset });
    void ex.done.then((result) => {
      this.#answered.set(peerId, result);
      const waiter = this.#waiter;
      if (waiter !== null && waiter.peerId === peerId && result.round >= waiter.round) waiter.resolve(result);
    });
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
      mineNext: null,
      theirs: null,
      distance: null,
      partnerOk: false,
      bytesOut: 0,
      bytesIn: 0,
      settled: false,
      onReply: null,
      done,
      resolve,
      timer: setTimeout(
        () => this.#settle(ex, 'timeout', `no answer from ${peerId} in time`),
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
        payload = await this.codec.encode(this.#x, ex.param);
      } else {
        const pair = ex.reset ? undefined : this.#pairs.get(ex.peerId);
        const reference = pair?.mine;
        const diff = differenceFrom(this.#x, reference);
        payload = await this.codec.encode(diff, ex.param);
        const mineNext = reference === undefined ? new Float32Array(diff.length) : reference.slice();
        await this.codec.accumulate(mineNext, payload);
        ex.mineNext = mineNext;
      }
      if (ex.settled) return;
      const frame = encodeFrame({ jobId: this.jobId, senderId: this.nodeId, round: ex.id, payload });
      ex.bytesOut += ex.transport.wireBytes(frame.length);
      ex.ownSent = true;
      void ex.transport.sendFrame(frame).then((outcome) => {
        if (outcome.ok) return;
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

  async #onFrame(event: ReceiveEvent): Promise<void> {
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
    const n = this.#x.length;
    if (header.round !== ex.id) {
      // A late frame of an earlier exchange with this peer: not for us, not the peer's fault.
      this.#mesh.recordRejection(ex.peerId, 'WRONG_ROUND');
      return;
    }
    const expected = {
      jobId: this.jobId,
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
        this.#x,
        theirs,
        this.#settings.maxNormRatio,
        this.codec,
      );
      if (bad !== null) return this.#reject(ex, bad);
      const distance = await this.#kernels.relativeDistance(this.#x, theirs);
      if (ex.settled) return;
      ex.theirs = theirs;
      ex.distance = Number.isFinite(distance) ? distance : null;
      this.#control(ex, { t: 'xok', x: ex.id });
      this.#tryCommit(ex);
    } catch (error) {
      this.#settle(ex, 'failed', error instanceof Error ? error.message : String(error));
    }
  }

  #onControl(peerId: string, message: GossipControl, transport: FrameTransport): void {
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
    if (ex.settled || !ex.ownSent || !ex.partnerOk || ex.theirs === null) return;
    const x = this.#x;
    const theirs = ex.theirs;
    let pending: Float32Array | null = null;
    if (!this.#holding) pending = this.#pending ??= new Float32Array(x.length);
    if (!this.codec.differential) {
      averageInto(x, theirs, pending);
    } else {
      const mine = ex.mineNext as Float32Array;
      consensusStepInto(x, theirs, mine, this.#step, pending);
      this.#pairs.commit(ex.peerId, { epoch: ex.id, mine, theirs });
    }
    this.#settle(ex, 'ok', null);
  }

  #control(ex: Exchange, message: GossipControl): void {
    ex.bytesOut += ex.transport.sendControl(message);
  }

  #settle(ex: Exchange, outcome: ExchangeOutcome, reason: string | null): void {
    if (ex.settled) return;
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
    this.#finish(result);
    ex.resolve(result);
    for (const waiter of [...this.#idleWaiters]) waiter();
  }

  #finish(result: ExchangeResult): void {
    if (result.outcome === 'alone') return;
    this.#tally.record(result);
    for (const handler of [...this.#resultHandlers]) handler(result);
    if (!this.#report || result.partner === null) return;
    this.#mesh.coordinator.reportExchange(
      exchangeReport(this.jobId, this.codec.name, {
        ...result,
        partner: result.partner,
        outcome: result.outcome,
      }),
    );
  }

  #emptyResult(outcome: ExchangeOutcome | 'alone', reason: string | null): ExchangeResult {
    return emptyResult(this.#round, outcome, reason);
  }

  #whenIdle(): Promise<void> {
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
