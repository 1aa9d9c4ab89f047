/**
 * Gossip averaging: one pairwise exchange at a time, partners from the live membership by the
 * job's schedule, both sides replacing their parameters by the pair's average so that the swarm's
 * mean is preserved. No global barrier: a partner that is busy is retried or skipped, one that does
 * not answer costs one timeout, and a node never waits for more than its partner. After a
 * timeout the partner is skipped for a few of this node's rounds (partner-backoff.ts), so a
 * straggler costs its partners one timeout now and then rather than one in every few rounds.
 *
 * The exchange itself (request, frames, checks, commit) is exchange-machine.ts.
 *
 * Compressed codecs keep, per partner, the two references both sides share: ĥ_mine (what the
 * partner knows of this model) and ĥ_theirs. Each side sends C(x − ĥ_mine), both add the decoded
 * codes to their copies of the references, and each moves x ← x + γ(ĥ_theirs − ĥ_mine). The two
 * updates cancel exactly, so the mean is preserved whatever C loses; what C left out stays in
 * x − ĥ_mine and is sent later (CHOCO-gossip, pairwise). `epoch` (the last exchange both
 * committed) detects a pair whose states diverged; both then restart from zero references.
 *
 * With the job's outer optimizer (averaging.outer), afterShard exchanges only every `syncEvery`
 * shards, and each side then takes an outer Nesterov step from its synchronised model towards the
 * pair's average (outer-optimizer.ts explains why the models, coded as above, and not the bare
 * pseudo-gradients). Exchanges this node answers are synchronisations too.
 *
 * While a trainer trains, exchanges answered for this node change a snapshot; the changes are
 * kept and added to the trainer's parameters at its next `afterShard`, so averaging never stops
 * training and training never blocks a partner.
 */
import { gossipJobIdSchema, type ExchangeOutcome } from '@tabswarm/protocol';
import type {
  AveragerStats,
  AveragingSettings,
  ExchangeResult,
  GossipAveragerOptions,
} from './averager-types.ts';
import { emptyResult, exchangeReport, ExchangeTally } from './averager-stats.ts';
import { defaultConsensusStep, mergePending } from './averaging-maths.ts';
import { createCodec, type GossipCodec } from './codecs.ts';
import { ExchangeMachine, type ExchangeHost } from './exchange-machine.ts';
import type { GossipMesh } from './mesh.ts';
import { OuterState } from './outer-optimizer.ts';
import { PartnerBackoff } from './partner-backoff.ts';
import { scheduleFor, type PartnerSchedule } from './schedule.ts';

/** Outcomes that cost this node time and gave it nothing: the partner is backed off. */
const UNANSWERED: ReadonlySet<ExchangeOutcome | 'alone'> = new Set(['timeout', 'unreachable', 'failed']);

export type * from './averager-types.ts';

interface Waiter {
  readonly peerId: string;
  readonly round: number;
  readonly resolve: (result: ExchangeResult) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class GossipAverager {
  readonly jobId: string;
  readonly codec: GossipCodec;
  readonly schedule: PartnerSchedule;
  readonly #mesh: GossipMesh;
  readonly #settings: AveragingSettings;
  readonly #random: () => number;
  readonly #report: boolean;
  readonly #machine: ExchangeMachine;
  readonly #answered = new Map<string, ExchangeResult>();
  readonly #resultHandlers = new Set<(result: ExchangeResult) => void>();
  readonly #unsubscribe: (() => void)[];
  #x: Float32Array;
  /** The outer optimizer's synchronised model and momentum; null: plain averaging after every shard. */
  readonly #outer: OuterState | null;
  /**
   * Changes made by exchanges this node answered while its trainer held the parameters (between
   * two afterShard calls, or before the first): added to the trainer's parameters at the next one.
   */
  #pending: Float32Array | null = null;
  /** An exchange answered while the trainer held the parameters left changes in #pending. */
  #pendingChanged = false;
  /** Inside afterShard or runRound: changes land in #x, which the caller gets back. */
  #holding = false;
  /** Driven by runRound: rounds are kept in step with partners (see #respond). */
  #lockstep = false;
  #waiter: Waiter | null = null;
  #round = 0;
  #closed = false;
  readonly #tally = new ExchangeTally();
  readonly #backoff = new PartnerBackoff();

  constructor(options: GossipAveragerOptions) {
    if (!gossipJobIdSchema.safeParse(options.jobId).success) throw new RangeError('job id is not an id');
    this.jobId = options.jobId;
    this.#mesh = options.mesh;
    this.#settings = options.averaging;
    this.codec = createCodec(options.averaging.codec, options.kernels, {
      topkFraction: options.averaging.topkFraction,
      ...(options.int8BlockSize !== undefined && { int8BlockSize: options.int8BlockSize }),
    });
    this.schedule = scheduleFor(options.averaging.schedule);
    this.#random = options.random ?? Math.random;
    this.#report = options.report ?? true;
    this.#lockstep = options.lockstep ?? false;
    this.#x = options.initial.slice();
    const outer = options.averaging.outer;
    this.#outer = outer === undefined ? null : new OuterState(this.#x, outer);
    this.#machine = new ExchangeMachine(this.#host(), {
      mesh: options.mesh,
      kernels: options.kernels,
      codec: this.codec,
      settings: options.averaging,
      quarantineMs: options.quarantineMs ?? 60_000,
      maxPairStates: options.maxPairStates ?? 8,
      step:
        options.consensusStep ??
        defaultConsensusStep(options.averaging.codec, options.averaging.topkFraction),
      outer: this.#outer,
    });
    this.#unsubscribe = [
      this.#mesh.onFrame((event) => void this.#machine.onFrame(event)),
      this.#mesh.onControl((peerId, message, transport) =>
        this.#machine.onControl(peerId, message, transport),
      ),
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
    this.#outer?.reset(values);
    this.#machine.resetPairs();
    this.#pending = null;
  }

  /** The outer optimizer's state (synchronised model, momentum, shards counted), or null without one. */
  get outer(): OuterState | null {
    return this.#outer;
  }

  /**
   * With the outer optimizer: a shard after which this node does not synchronise and has no
   * changes of answered exchanges to hand back is counted here, and true says that the trainer's
   * parameters need not cross to the averager for it (afterShard would change nothing). Exchanges
   * this node answers meanwhile use its parameters as of its last afterShard; their changes still
   * reach the trainer (at the next afterShard, which this then no longer skips).
   */
  skipShard(): boolean {
    const outer = this.#outer;
    if (outer === null || this.#pendingChanged || this.#closed) return false;
    if ((outer.shards + 1) % outer.settings.syncEvery === 0) return false;
    outer.shardDone();
    return true;
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
   * after at most the exchange timeout), and writes the result back into `params`. With the outer
   * optimizer it exchanges only after every `syncEvery`-th shard. Use either
   * afterShard (a trainer owns the parameters) or runRound (the averager does), not both.
   */
  async afterShard(params: Float32Array): Promise<Float32Array> {
    if (params.length !== this.#x.length) {
      throw new RangeError(
        `afterShard got ${params.length} parameters; the averager holds ${this.#x.length}`,
      );
    }
    await this.#machine.whenIdle();
    // #pending is all zeros unless an exchange answered meanwhile changed it.
    mergePending(this.#x, params, this.#pendingChanged ? this.#pending : null);
    this.#pendingChanged = false;
    if (this.#outer !== null && !this.#outer.shardDone()) {
      params.set(this.#x);
      return params;
    }
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

  /**
   * One exchange initiated with `peerId`, whatever the schedule says (self-tests: the volunteer
   * page's test exchange with a chosen tab); a busy partner is retried until the exchange timeout.
   */
  async exchangeWith(peerId: string): Promise<ExchangeResult> {
    const round = this.#round;
    const deadline = Date.now() + this.#settings.exchangeTimeoutMs;
    this.#holding = true;
    try {
      let result = await this.#machine.initiate(peerId, round, deadline);
      while (result.outcome === 'busy' && !this.#closed && Date.now() < deadline) {
        await sleep(10 + this.#random() * 40);
        result = await this.#machine.initiate(peerId, round, deadline);
      }
      this.#round = Math.max(this.#round, round + 1);
      return result;
    } finally {
      this.#holding = false;
    }
  }

  close(): void {
    this.#closed = true;
    for (const undo of this.#unsubscribe) undo();
    this.#machine.close();
    this.#waiter?.resolve(this.#emptyResult('failed', 'closed'));
  }

  async #runRound(lockstep: boolean): Promise<ExchangeResult> {
    const round = this.#round;
    const self = this.nodeId;
    const eligible = (peerId: string): boolean => peerId !== self && !this.#mesh.isQuarantined(peerId);
    const answering = (peerId: string): boolean => eligible(peerId) && !this.#backoff.skips(peerId, round);
    // A partner that timed out lately is skipped while there is anyone else; alone with it, try it.
    const pick =
      this.schedule.partner(round, this.#mesh.members(), self, answering, this.#random) ??
      this.schedule.partner(round, this.#mesh.members(), self, eligible, this.#random);
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
      const attempt = await this.#machine.initiate(partner, round, deadline);
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
          this.schedule.partner(round, this.#mesh.members(), self, answering, this.#random)?.peerId ??
          partner;
    }
    this.#round = Math.max(this.#round, round + 1);
    result ??= {
      ...this.#emptyResult('timeout', `no exchange with ${partner} within ${timeout} ms`),
      partner,
    };
    if (UNANSWERED.has(result.outcome)) this.#backoff.timedOut(partner, round);
    else if (result.outcome === 'ok' && result.partner !== null) this.#backoff.answered(result.partner);
    return result;
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

  /** What the exchange state machine sees of this averager. */
  #host(): ExchangeHost {
    return {
      jobId: this.jobId,
      parameters: () => this.#x,
      // Outside afterShard/runRound a trainer holds a snapshot: keep the changes for its next shard.
      pendingSink: () => {
        if (this.#holding) return null;
        this.#pendingChanged = true;
        return (this.#pending ??= new Float32Array(this.#x.length));
      },
      // In step: a partner already at a later round waits (busy, it retries) until this node gets
      // there, so each node averages its rounds in order (the hypercube is exact only then).
      busyFor: (round) => (this.#lockstep && round > this.#round ? `at round ${this.#round}` : null),
      settled: (result) => this.#finish(result),
      answered: (peerId, result) => {
        this.#answered.set(peerId, result);
        const waiter = this.#waiter;
        if (waiter !== null && waiter.peerId === peerId && result.round >= waiter.round)
          waiter.resolve(result);
      },
    };
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
}
