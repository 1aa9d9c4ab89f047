/**
 * The e2e gossip test page: `window.gossipTest` starts a gossip node over a seeded random vector,
 * runs exchange rounds, and reads the vector back. No trainer, no TensorFlow.js: eight of these
 * fit in one Chromium.
 */
import type { AveragingSettings, ExchangeResult } from '../src/any/averager.ts';
import { seededVector, startSwarmNode, toBase64, type SwarmNode } from './swarm-node.ts';

export interface GossipTestStart {
  readonly coordinatorUrl: string;
  readonly elements: number;
  readonly seed: number;
  readonly jobId?: string;
  readonly direct?: boolean;
  readonly averaging?: Partial<AveragingSettings>;
}

export interface GossipTestState {
  readonly nodeId: string | null;
  readonly members: number;
  readonly round: number;
  readonly links: { peer: string; kind: string; open: boolean }[];
}

export interface GossipTestApi {
  start(options: GossipTestStart): Promise<string>;
  state(): GossipTestState;
  runRounds(
    rounds: number,
  ): Promise<Pick<ExchangeResult, 'outcome' | 'partner' | 'round' | 'link' | 'reason'>[]>;
  vector(): string;
  stop(): void;
}

declare global {
  interface Window {
    gossipTest?: GossipTestApi;
  }
}

let node: SwarmNode | null = null;

window.gossipTest = {
  async start(options) {
    node?.stop();
    node = await startSwarmNode({
      coordinatorUrl: options.coordinatorUrl,
      jobId: options.jobId ?? 'consensus-test',
      initial: seededVector(options.elements, options.seed),
      direct: options.direct ?? true,
      averaging: {
        schedule: 'exponential',
        codec: 'fp32',
        topkFraction: 0.01,
        exchangeTimeoutMs: 5_000,
        maxNormRatio: 10,
        ...options.averaging,
      },
    });
    return node.nodeId;
  },
  state() {
    return {
      nodeId: node?.nodeId ?? null,
      members: node?.mesh.members().length ?? 0,
      round: node?.averager.round ?? 0,
      links: node?.mesh.links().map((l) => ({ peer: l.peer, kind: l.kind, open: l.open })) ?? [],
    };
  },
  async runRounds(rounds) {
    if (node === null) throw new Error('not started');
    const results = [];
    for (let r = 0; r < rounds; r++) {
      const { outcome, partner, round, link, reason } = await node.averager.runRound();
      results.push({ outcome, partner, round, link, reason });
    }
    return results;
  },
  vector() {
    if (node === null) throw new Error('not started');
    return toBase64(node.averager.current());
  },
  stop() {
    node?.stop();
    node = null;
  },
};
