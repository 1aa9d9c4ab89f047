/**
 * The gossip benchmark page. Throughput: a frame through our transport (raw data channel, chunked,
 * paced on bufferedAmount, acknowledged after reassembly and CRC) against the same bytes through
 * PeerJS's default connection (serialization "binary": BinaryPack, 16,300-byte chunks), each
 * acknowledged by the receiver, over the same loopback WebRTC path between two Chromium instances.
 * Codecs: real exchanges between the two pages with each codec, using the kernel library's
 * TypeScript references, reporting the bytes one side puts on the wire per exchange and each
 * exchange's time. Driven by @tabswarm/bench's transport part.
 */
import type { DataConnection } from 'peerjs';
import { encodeFp32Frame, type GossipCodecName } from '@tabswarm/protocol';
import { GossipAverager, type ExchangeResult } from '../src/any/averager.ts';
import { DEFAULT_TRANSPORT_OPTIONS, FrameTransport } from '../src/any/frame-transport.ts';
import { referenceKernels } from '../src/any/kernel-library.ts';
import { dataConnectionLink, dialPeer } from '../src/page/peerjs-link.ts';
import { Reassembler } from '../src/any/reassembler.ts';
import { seededVector, startSwarmNode, type SwarmNode } from '../test-page/swarm-node.ts';
import type { CodecRow, ThroughputRow } from './bench-api.ts';

let node: SwarmNode | null = null;
let averager: GossipAverager | null = null;
const results: ExchangeResult[] = [];

function need(): SwarmNode {
  if (node === null) throw new Error('not started');
  return node;
}

/** Opens a PeerJS connection with its default options (serialization "binary"). */
function openDefault(n: SwarmNode, peerId: string): Promise<DataConnection> {
  const peer = n.peer;
  if (peer === null) throw new Error('no PeerJS');
  const connection = peer.connect(peerId, { reliable: true });
  return new Promise((resolve, reject) => {
    connection.once('open', () => resolve(connection));
    connection.once('error', reject);
  });
}

const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

window.gossipBench = {
  async start(coordinatorUrl, elements, seed) {
    node = await startSwarmNode({
      coordinatorUrl,
      jobId: 'bench',
      initial: seededVector(elements, seed),
      averaging: {
        schedule: 'exponential',
        codec: 'fp32',
        topkFraction: 0.01,
        exchangeTimeoutMs: 60_000,
        maxNormRatio: 10,
      },
      kernels: referenceKernels,
      leaveOtherConnections: true,
    });
    averager = node.averager;
    // Receiver side of the PeerJS baseline: acknowledge each whole message with its size.
    node.peer?.on('connection', (connection) => {
      if (connection.serialization === 'raw') return;
      connection.on('data', (data) => {
        const size =
          data instanceof ArrayBuffer ? data.byteLength : ArrayBuffer.isView(data) ? data.byteLength : -1;
        void connection.send({ ack: size });
      });
    });
    return node.nodeId;
  },

  members: () => node?.mesh.members().length ?? 0,

  async throughput(peerId, sizes, repetitions) {
    const n = need();
    const peer = n.peer;
    if (peer === null) throw new Error('no PeerJS');
    // The swarm's options first, then larger chunks and buffers to show what they would change.
    const variants = [
      {
        chunk: DEFAULT_TRANSPORT_OPTIONS.maxMessageBytes,
        buffer: DEFAULT_TRANSPORT_OPTIONS.maxBufferedBytes,
      },
      { chunk: 256 * 1024, buffer: 4 << 20 },
      { chunk: 256 * 1024, buffer: 16 << 20 },
    ];
    // Every method gets its own connection, opened up front; repetitions interleave the methods
    // so that they share whatever else the machine is doing.
    const methods: {
      name: string;
      swarmDefault: boolean;
      peerjs: boolean;
      send: (frame: Uint8Array) => Promise<void>;
      close: () => void;
    }[] = [];
    for (const [v, { chunk, buffer }] of variants.entries()) {
      const dialed = await dialPeer(peer, peerId);
      if (!dialed.ok) throw new Error(dialed.message);
      const transport = new FrameTransport(dataConnectionLink(dialed.connection), new Reassembler(), {
        maxMessageBytes: chunk,
        maxBufferedBytes: buffer,
        lowWaterBytes: buffer / 4,
        // A 10M-parameter frame through a slow link takes longer than the swarm's 30 s.
        ackTimeoutMs: 300_000,
        // The receiver's mesh heartbeats every link: answer, or it closes this one as dead.
        onControl: (body, t) => {
          if (typeof body === 'object' && body !== null && 't' in body && body.t === 'ping') {
            t.sendControl({ ...body, t: 'pong' });
          }
        },
      });
      methods.push({
        name: `tabswarm transport, ${chunk / 1024} KiB chunks, ${buffer >> 20} MiB buffer`,
        swarmDefault: v === 0,
        peerjs: false,
        async send(frame) {
          const outcome = await transport.sendFrame(frame);
          if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.message}`);
        },
        close: () => transport.close(),
      });
    }
    const connection = await openDefault(n, peerId);
    methods.push({
      name: 'PeerJS default (binary serialization)',
      swarmDefault: false,
      peerjs: true,
      async send(frame) {
        const acked = new Promise<void>((resolve) => {
          const onData = (data: unknown): void => {
            if (typeof data === 'object' && data !== null && 'ack' in data) {
              connection.off('data', onData);
              resolve();
            }
          };
          connection.on('data', onData);
        });
        void connection.send(frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength));
        await acked;
      },
      close: () => connection.close(),
    });
    const rows: ThroughputRow[] = [];
    for (const bytes of sizes) {
      const frame = encodeFp32Frame({
        jobId: 'bench',
        senderId: n.nodeId,
        round: 1,
        values: seededVector(Math.floor(bytes / 4), 7),
      });
      const times = methods.map(() => [] as number[]);
      for (let r = 0; r < repetitions; r++) {
        for (const [k, method] of methods.entries()) {
          const started = performance.now();
          await method.send(frame);
          times[k]?.push(performance.now() - started);
        }
      }
      methods.forEach((m, k) =>
        rows.push({
          method: m.name,
          swarmDefault: m.swarmDefault,
          peerjs: m.peerjs,
          bytes: frame.length,
          ms: times[k] ?? [],
        }),
      );
    }
    for (const method of methods) method.close();
    return rows;
  },

  useCodec(codec: GossipCodecName, elements, seed) {
    const n = need();
    averager?.close();
    results.length = 0;
    averager = new GossipAverager({
      mesh: n.mesh,
      jobId: `bench-${codec}`,
      averaging: {
        schedule: 'exponential',
        codec,
        topkFraction: 0.01,
        exchangeTimeoutMs: 60_000,
        maxNormRatio: 10,
      },
      kernels: referenceKernels,
      initial: seededVector(elements, seed),
      report: false,
    });
    averager.onExchange((result) => results.push(result));
  },

  async exchange(rounds): Promise<CodecRow> {
    const a = averager;
    if (a === null) throw new Error('no averager');
    for (let r = 0; r < rounds; r++) await a.runRound();
    const ok = results.filter((x) => x.outcome === 'ok');
    return {
      codec: a.codec.name,
      elements: a.current().length,
      bytesPerExchange: median(ok.map((x) => x.bytesOut)),
      exchangeMs: ok.map((x) => x.durationMs),
      lastDistance: ok.at(-1)?.distance ?? null,
    };
  },
};
