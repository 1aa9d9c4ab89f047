/** The averager's public types: its settings and options, and what an exchange and its stats report. */
import type { AveragingSpec, ExchangeOutcome, ExchangeRole } from '@tabswarm/protocol';
import type { GossipKernels } from './kernels.ts';
import type { GossipMesh } from './mesh.ts';

export type AveragingSettings = Pick<
  AveragingSpec,
  'schedule' | 'codec' | 'topkFraction' | 'exchangeTimeoutMs' | 'maxNormRatio'
> &
  Partial<Pick<AveragingSpec, 'outer' | 'clipMultiple'>>;

export interface GossipAveragerOptions {
  readonly mesh: GossipMesh;
  readonly jobId: string;
  readonly averaging: AveragingSettings;
  readonly kernels: GossipKernels;
  /** The parameters to start from; copied. */
  readonly initial: Float32Array;
  /** A peer that sent a bad frame is skipped for this long (default 60 s). */
  readonly quarantineMs?: number;
  /** Partners whose pair state (2 vectors each) is kept for compressed codecs, LRU (default 8). */
  readonly maxPairStates?: number;
  /**
   * γ of the compressed update x ← x + γ(ĥ_theirs − ĥ_mine). Default 0.5 (a pair's exact average
   * once the references caught up) for fp16 and int8; for top-k 2 × topkFraction (at most 0.5):
   * as CHOCO-gossip's analysis says, a step much larger than the fraction sent makes sparse
   * exchanges oscillate instead of converge (measured in averager.test.ts).
   */
  readonly consensusStep?: number;
  readonly int8BlockSize?: number;
  readonly random?: () => number;
  /** Send exchange reports to the coordinator (default true). */
  readonly report?: boolean;
  /**
   * Rounds in step with partners (runRound without a trainer): a request for a round this node
   * has not reached yet is answered busy until it gets there, so every node averages its rounds in
   * order and the exponential schedule is exact. Off for afterShard, where rounds are local.
   * Default false; runRound turns it on.
   */
  readonly lockstep?: boolean;
}

export interface ExchangeResult {
  readonly exchangeId: number;
  /** null when there was nobody to exchange with. */
  readonly partner: string | null;
  readonly role: ExchangeRole;
  readonly round: number;
  readonly outcome: ExchangeOutcome | 'alone';
  readonly reason: string | null;
  readonly distance: number | null;
  readonly bytesOut: number;
  readonly bytesIn: number;
  readonly durationMs: number;
  readonly link: 'direct' | 'relay' | null;
}

export interface AveragerStats {
  readonly round: number;
  readonly exchanges: Readonly<Partial<Record<ExchangeOutcome, number>>>;
  readonly bytesOut: number;
  readonly bytesIn: number;
  readonly lastDistance: number | null;
}
