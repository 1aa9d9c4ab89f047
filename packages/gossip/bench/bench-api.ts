/**
 * The typed API the gossip benchmark page exposes to its driver (@tabswarm/bench's transport part)
 * as window.gossipBench.
 */
import type { GossipCodecName } from '@tabswarm/protocol';

export interface ThroughputRow {
  readonly method: string;
  /** Our transport with the options the swarm uses (DEFAULT_TRANSPORT_OPTIONS). */
  readonly swarmDefault: boolean;
  /** PeerJS's default connection: the baseline. */
  readonly peerjs: boolean;
  readonly bytes: number;
  /** Milliseconds from the first byte sent to the receiver's acknowledgement, per repetition. */
  readonly ms: readonly number[];
}

export interface CodecRow {
  readonly codec: GossipCodecName;
  readonly elements: number;
  /** Bytes one side put on the wire per exchange (frame, chunk headers, handshake). */
  readonly bytesPerExchange: number;
  /** Milliseconds of each completed exchange (encode, both directions, decode, mix). */
  readonly exchangeMs: readonly number[];
  /** Relative distance between the two models at the last exchange. */
  readonly lastDistance: number | null;
}

export interface GossipBenchApi {
  start(coordinatorUrl: string, elements: number, seed: number): Promise<string>;
  /** Members this node sees (the coordinator's membership). */
  members(): number;
  /** Sender side: our frame transport and PeerJS's default binary serialisation, to `peerId`. */
  throughput(peerId: string, sizes: readonly number[], repetitions: number): Promise<ThroughputRow[]>;
  /** Both sides: switch the averager to `codec` (both must call it before exchanging). */
  useCodec(codec: GossipCodecName, elements: number, seed: number): void;
  /** Runs exchange rounds with the other node; returns this side's reports. */
  exchange(rounds: number): Promise<CodecRow>;
}

declare global {
  interface Window {
    gossipBench?: GossipBenchApi;
  }
}
