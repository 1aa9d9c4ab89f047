/**
 * Part 4, transport: between two Chromium instances over loopback WebRTC (packages/gossip/bench's
 * page), a model's frame through our transport against the same bytes through PeerJS's default
 * serialisation (goal: 2× its Mbit/s), the time to move a model of 1M and 10M parameters, and a
 * gossip exchange per codec.
 */
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright';
import type { GossipCodecName } from '@tabswarm/protocol';
import type { CodecRow, ThroughputRow } from '../../../gossip/bench/bench-api.ts';
import { goalVerdict, markdownTable } from '../any/markdown.ts';
import { formatTiming, mapTiming, timing } from '../any/stats.ts';
import { withBenchPages } from '../node/bench-pages.ts';
import type { BenchPart, Timing } from '../part.ts';
import { startBenchCoordinator } from './coordinator.ts';

const PAGE_ROOT = fileURLToPath(new URL('../../../gossip/bench/', import.meta.url));
/** Our transport's Mbit/s over PeerJS's default, as a goal. */
export const TRANSPORT_GOAL = 2;
const CODECS: readonly GossipCodecName[] = ['fp32', 'fp16', 'int8', 'topk'];

export interface ThroughputFigure {
  readonly method: string;
  readonly swarmDefault: boolean;
  readonly peerjs: boolean;
  readonly parameters: number;
  readonly bytes: number;
  /** Time to move the model: first byte sent to the receiver's acknowledgement of the whole frame. */
  readonly ms: Timing;
  readonly mbitPerSecond: Timing;
  /** Median Mbit/s over PeerJS default's at the same size. */
  readonly vsPeerJs: number;
}

export interface CodecFigure {
  readonly codec: GossipCodecName;
  readonly parameters: number;
  readonly bytesPerExchange: number;
  /** A whole exchange: encode, both directions at once, decode, mix. */
  readonly ms: Timing;
  /** Bytes one side put on the wire per second of exchange. */
  readonly wireMbitPerSecond: number;
  /** The model's fp32 size moved per second of exchange: what the codec buys. */
  readonly effectiveMbitPerSecond: number;
  /** effective Mbit/s over PeerJS default's one-way fp32 Mbit/s at the same model size (null: not measured there). */
  readonly vsPeerJs: number | null;
}

export interface TransportData {
  readonly goal: number;
  readonly throughput: readonly ThroughputFigure[];
  readonly codecs: readonly CodecFigure[];
  /** The swarm's default transport against the goal, at the largest model. */
  readonly goalMet: boolean;
}

const mbit = (bytes: number, ms: number): number => (bytes * 8) / 1e6 / (ms / 1000);

function throughputFigures(
  rows: readonly ThroughputRow[],
  parameters: readonly number[],
): ThroughputFigure[] {
  const sizes = [...new Set(rows.map((r) => r.bytes))];
  return rows.map((r) => {
    const ms = timing(r.ms);
    const base = rows.find((b) => b.peerjs && b.bytes === r.bytes);
    if (base === undefined) throw new Error(`no PeerJS baseline at ${r.bytes} bytes`);
    return {
      method: r.method,
      swarmDefault: r.swarmDefault,
      peerjs: r.peerjs,
      parameters: parameters[sizes.indexOf(r.bytes)] ?? NaN,
      bytes: r.bytes,
      ms,
      mbitPerSecond: mapTiming(ms, (x) => mbit(r.bytes, x)),
      vsPeerJs: timing(base.ms).median / ms.median,
    };
  });
}

function codecFigure(row: CodecRow, throughput: readonly ThroughputFigure[]): CodecFigure {
  const ms = timing(row.exchangeMs);
  const effective = mbit(row.elements * 4, ms.median);
  const peerjs = throughput.find((t) => t.peerjs && t.parameters === row.elements);
  return {
    codec: row.codec,
    parameters: row.elements,
    bytesPerExchange: row.bytesPerExchange,
    ms,
    wireMbitPerSecond: mbit(row.bytesPerExchange, ms.median),
    effectiveMbitPerSecond: effective,
    vsPeerJs: peerjs === undefined ? null : effective / peerjs.mbitPerSecond.median,
  };
}

const count = (n: number): string =>
  n >= 1e6 ? `${Number((n / 1e6).toFixed(1))}M` : `${Math.round(n / 1e3)}k`;

function markdown(data: TransportData, repetitions: number): string {
  const throughput = markdownTable(
    ['method', 'model', 'MB', 'ms to move (min–max)', 'Mbit/s', 'vs PeerJS', `goal ${data.goal}×`],
    data.throughput.map((t) => [
      `${t.method}${t.swarmDefault ? ' (swarm default)' : ''}`,
      count(t.parameters),
      (t.bytes / 1e6).toFixed(1),
      formatTiming(t.ms, 0),
      t.mbitPerSecond.median.toFixed(0),
      `${t.vsPeerJs.toFixed(2)}×`,
      t.peerjs ? 'baseline' : goalVerdict(t.vsPeerJs, data.goal, (x) => `${x.toFixed(2)}×`),
    ]),
    ['left', 'right', 'right', 'right', 'right', 'right', 'left'],
  );
  const codecs = markdownTable(
    [
      'codec',
      'model',
      'bytes/exchange',
      'ms/exchange (min–max)',
      'wire Mbit/s',
      'fp32-equivalent Mbit/s',
      'vs PeerJS',
    ],
    data.codecs.map((c) => [
      c.codec === 'topk' ? 'topk (1 %)' : c.codec,
      count(c.parameters),
      c.bytesPerExchange.toLocaleString('en-US'),
      formatTiming(c.ms, 0),
      c.wireMbitPerSecond.toFixed(0),
      c.effectiveMbitPerSecond.toFixed(0),
      c.vsPeerJs === null ? 'n/a' : `${c.vsPeerJs.toFixed(2)}×`,
    ]),
  );
  const headline = data.throughput.filter((t) => t.swarmDefault);
  const largest = headline[headline.length - 1];
  return [
    `Two Chromium instances (two WebRTC stacks) over loopback, one data channel each way per method; a frame is timed from its first byte to the receiver's acknowledgement of the whole, verified frame; median of ${repetitions}, methods interleaved.`,
    '',
    throughput,
    '',
    largest === undefined
      ? ''
      : `Goal ${data.goal}× PeerJS with the swarm's default transport: ${data.goalMet ? 'met' : 'missed'} (${largest.vsPeerJs.toFixed(2)}× at ${count(largest.parameters)} parameters).`,
    '',
    'Gossip exchanges per codec (both pages exchange at once; TypeScript reference codecs). "fp32-equivalent" is the model\'s fp32 size over the exchange time, against PeerJS moving the fp32 frame one way:',
    '',
    codecs,
  ].join('\n');
}

function api(page: Page) {
  return {
    start: (coordinatorUrl: string, n: number, seed: number) =>
      page.evaluate(
        ([u, k, sd]) => window.gossipBench?.start(u, k, sd) ?? Promise.reject(new Error('no page API')),
        [coordinatorUrl, n, seed] as const,
      ),
    members: () => page.evaluate(() => window.gossipBench?.members() ?? 0),
    throughput: (peerId: string, sizes: readonly number[], reps: number) =>
      page.evaluate(
        ([p, z, r]) => window.gossipBench?.throughput(p, z, r) ?? Promise.reject(new Error('no page API')),
        [peerId, sizes, reps] as const,
      ),
    useCodec: (codec: GossipCodecName, n: number, seed: number) =>
      page.evaluate(([c, k, sd]) => window.gossipBench?.useCodec(c, k, sd), [codec, n, seed] as const),
    exchange: (rounds: number) =>
      page.evaluate(
        (r) => window.gossipBench?.exchange(r) ?? Promise.reject(new Error('no page API')),
        rounds,
      ),
  };
}

export const transportPart: BenchPart = {
  name: 'transport',
  description: 'data-channel Mbit/s vs PeerJS default serialisation, model transfer time, codecs',
  async run({ quick, repetitions, log }) {
    const models = quick ? [262_144] : [1_000_000, 10_000_000];
    const codecModels = quick ? [262_144] : [1_000_000];
    return withBenchPages(
      { root: PAGE_ROOT, readyGlobal: 'gossipBench', browsers: 2, log },
      async (pages) => {
        const [a, b] = pages.map(api);
        if (a === undefined || b === undefined) throw new Error('two pages expected');
        // The pages come from their own Vite server: the coordinator allows that origin.
        const coordinator = await startBenchCoordinator(new URL(pages[0]?.url() ?? '').origin);
        try {
          const idB = await b.start(coordinator.url, codecModels[0] as number, 2);
          await a.start(coordinator.url, codecModels[0] as number, 1);
          while ((await a.members()) < 2 || (await b.members()) < 2)
            await new Promise((r) => setTimeout(r, 100));
          // Frame header and CRC aside, a model of n parameters is a frame of 4n bytes.
          log(`throughput: models of ${models.map(count).join(', ')} parameters, ${repetitions} repetitions`);
          const rows = await a.throughput(
            idB,
            models.map((n) => n * 4),
            repetitions,
          );
          const throughput = throughputFigures(rows, models);
          const codecs: CodecFigure[] = [];
          for (const n of codecModels) {
            for (const codec of CODECS) {
              log(`exchanges: ${codec}, ${count(n)} parameters`);
              await Promise.all([a.useCodec(codec, n, 1), b.useCodec(codec, n, 2)]);
              const [row] = await Promise.all([a.exchange(repetitions), b.exchange(repetitions)]);
              codecs.push(codecFigure(row, throughput));
            }
          }
          const headline = throughput.filter((t) => t.swarmDefault);
          const data: TransportData = {
            goal: TRANSPORT_GOAL,
            throughput,
            codecs,
            goalMet: (headline[headline.length - 1]?.vsPeerJs ?? 0) >= TRANSPORT_GOAL,
          };
          return { part: 'transport', markdown: markdown(data, repetitions), data };
        } finally {
          await coordinator.stop();
        }
      },
    );
  },
};
