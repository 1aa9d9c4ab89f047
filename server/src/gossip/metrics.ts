/** Prometheus metrics of gossip averaging, on the server's registry. Labels stay bounded: job, outcome, codec. */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface GossipMetrics {
  readonly exchanges: Counter<'job' | 'outcome' | 'codec'>;
  readonly exchangeBytes: Counter<'job' | 'codec'>;
  readonly consensusDistance: Gauge<'job'>;
  readonly relayBytes: Counter;
  readonly relayMessages: Counter<'outcome'>;
  readonly links: Gauge<'kind'>;
  readonly rejectedFrames: Gauge<'reason'>;
  readonly rejectedFramesTotal: Counter<'reason'>;
  readonly fedAvgRounds: Counter<'job' | 'outcome'>;
}

export function createGossipMetrics(registry: Registry): GossipMetrics {
  return {
    exchanges: new Counter({
      name: 'tabswarm_gossip_exchanges_total',
      help: 'Gossip exchange reports (one per side), by job, outcome and codec',
      labelNames: ['job', 'outcome', 'codec'],
      registers: [registry],
    }),
    exchangeBytes: new Counter({
      name: 'tabswarm_gossip_exchange_bytes_total',
      help: 'Bytes volunteers put on the wire for gossip exchanges, by job and codec',
      labelNames: ['job', 'codec'],
      registers: [registry],
    }),
    consensusDistance: new Gauge({
      name: 'tabswarm_gossip_consensus_distance',
      help: 'Relative distance between partners before averaging (exponentially weighted over recent exchanges), by job',
      labelNames: ['job'],
      registers: [registry],
    }),
    relayBytes: new Counter({
      name: 'tabswarm_relay_bytes_total',
      help: 'Bytes forwarded by the socket.io relay',
      registers: [registry],
    }),
    relayMessages: new Counter({
      name: 'tabswarm_relay_messages_total',
      help: 'Relay messages, by outcome (forwarded, or the error code)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    links: new Gauge({
      name: 'tabswarm_gossip_links',
      help: 'Links in the latest link reports of connected volunteers, by kind (direct, relay, failed)',
      labelNames: ['kind'],
      registers: [registry],
    }),
    rejectedFrames: new Gauge({
      name: 'tabswarm_gossip_rejected_frames',
      help: 'Frames volunteers dropped on receipt, as their latest link reports count them, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    rejectedFramesTotal: new Counter({
      name: 'tabswarm_gossip_rejected_frames_total',
      help: 'Frames volunteers dropped on receipt since this coordinator started, by reason (the growth of each link report over the one before; kept after the volunteer leaves)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    fedAvgRounds: new Counter({
      name: 'tabswarm_fedavg_rounds_total',
      help: 'FedAvg rounds closed, by job and outcome (averaged, no_quorum)',
      labelNames: ['job', 'outcome'],
      registers: [registry],
    }),
  };
}
