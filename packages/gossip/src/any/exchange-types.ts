/**
 * The types of the exchange state machine (exchange-machine.ts): what it needs of its host, its
 * options, and the state of one exchange in progress.
 */
import type { ExchangeRole, GossipControl } from '@tabswarm/protocol';
import type { AveragingSettings, ExchangeResult } from './averager-types.ts';
import type { GossipCodec } from './codecs.ts';
import type { FrameTransport } from './frame-transport.ts';
import type { GossipKernels } from './kernels.ts';
import type { GossipMesh } from './mesh.ts';
import type { OuterState } from './outer-optimizer.ts';

/** What the state machine needs of the averager that runs it. */
export interface ExchangeHost {
  readonly jobId: string;
  /** The live parameters exchanges send, check against and average into. */
  parameters(): Float32Array;
  /** Where a committed exchange also adds its changes (a trainer holds a snapshot), or null. */
  pendingSink(): Float32Array | null;
  /** Why a request for `round` is answered busy for now (rounds in step), or null. */
  busyFor(round: number): string | null;
  /** Every finished exchange once, with the unreachable ones: stats, reports, listeners. */
  settled(result: ExchangeResult): void;
  /** The result of an exchange this node answered as responder. */
  answered(peerId: string, result: ExchangeResult): void;
}

export interface ExchangeMachineOptions {
  readonly mesh: GossipMesh;
  readonly kernels: GossipKernels;
  readonly codec: GossipCodec;
  readonly settings: AveragingSettings;
  readonly quarantineMs: number;
  readonly maxPairStates: number;
  /** γ of the compressed update. */
  readonly step: number;
  /** The outer optimizer's state: each committed exchange is a synchronisation (outer-optimizer.ts); null: none. */
  readonly outer: OuterState | null;
}

export interface Exchange {
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
  /** The partner acknowledged this side's whole frame (its transport reassembled it). */
  ownDelivered: boolean;
  /** The partner's frame arrived and its checks on receipt are running. */
  checking: boolean;
  mineNext: Float32Array | null;
  /** The partner's model (fp32) or its reference ĥ_theirs' (compressed), checked. */
  theirs: Float32Array | null;
  distance: number | null;
  /** Clipped gossip: this side's offered radius and the partner's (undefined: none). */
  ownClip: number | undefined;
  partnerClip: number | undefined;
  partnerOk: boolean;
  /** The averaging step is being computed: the exchange is decided, only its arithmetic is left. */
  committing: boolean;
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
