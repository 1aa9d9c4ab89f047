/**
 * A made-up but plausible simulation record for the report's tests and for looking at the page:
 * `nodes` volunteers over ten minutes, a checkpoint every 30 s, and one of each fault.
 */
import type { FaultEvent, NodeSeries, SimulationRecord } from './record.ts';

export function recordFixture(nodes: number, browsers = Math.min(nodes, 4)): SimulationRecord {
  const end = 600_000;
  const at = (p: number): number => p * end * 0.95;
  const faults: FaultEvent[] = [
    { t: 2_000, kind: 'straggler', targets: ['browser-1'], progress: 0, detail: 'slowed 4×', ok: true },
    {
      t: at(0.3),
      kind: 'kill',
      targets: ['browser-2'],
      progress: 0.3,
      detail: 'closed without goodbye',
      ok: true,
    },
    { t: at(0.4), kind: 'partition', targets: [], progress: 0.4, detail: 'halves apart for 15 s', ok: true },
    { t: at(0.4) + 15_000, kind: 'heal', targets: [], progress: 0.43, detail: 'healed', ok: true },
    { t: at(0.5), kind: 'join', targets: ['browser-5'], progress: 0.5, detail: 'joined', ok: true },
    {
      t: at(0.6),
      kind: 'offline',
      targets: ['virtual-1'],
      progress: 0.6,
      detail: 'off the network for 10 s',
      ok: true,
    },
    { t: at(0.6) + 10_000, kind: 'online', targets: ['virtual-1'], progress: 0.62, detail: 'back', ok: true },
    {
      t: at(0.7),
      kind: 'restart-coordinator',
      targets: [],
      progress: 0.7,
      detail: 'SIGKILL at http://127.0.0.1:4000, restarted in 2.1 s',
      ok: false,
    },
  ];
  const samples = Array.from({ length: 121 }, (_, i) => {
    const t = i * 5_000;
    const progress = Math.min(1, t / (end * 0.95));
    const partitioned = t > at(0.4) && t < at(0.4) + 15_000;
    return {
      t,
      progress,
      samplesSeen: Math.round(progress * 300_000),
      shardsDone: Math.round(progress * 300),
      alive: { browsers: t > at(0.3) && t < at(0.5) ? browsers - 1 : browsers, virtual: nodes - browsers },
      consensusDistance: i === 0 ? null : (partitioned ? 0.08 : 0.02) * Math.exp(-t / 400_000) + 0.002,
    };
  });
  const checkpoints = Array.from({ length: 20 }, (_, i) => {
    const t = (i + 1) * 30_000;
    return {
      t,
      round: i + 1,
      samplesSeen: Math.round(Math.min(1, t / (end * 0.95)) * 300_000),
      accuracy: i === 0 ? null : 0.95 - 0.7 * Math.exp(-i / 3),
      loss: 2.3 * Math.exp(-i / 3) + 0.15,
    };
  });
  const nodeSeries: NodeSeries[] = Array.from({ length: nodes }, (_, n) => {
    const kind = n < browsers ? 'browser' : 'virtual';
    const label = kind === 'browser' ? `browser-${n + 1}` : `virtual-${n - browsers + 1}`;
    const killed = label === 'browser-2';
    return {
      label,
      kind,
      nodeIds: [`v${String(n).padStart(11, '0')}`],
      points: Array.from({ length: 60 }, (_, i) => {
        const t = i * 10_000;
        const gone = killed && t > at(0.3);
        const offline = label === 'virtual-1' && t > at(0.6) && t < at(0.6) + 10_000;
        const phase = i % 7 === 0 ? 'idle' : i % 5 === 0 ? 'averaging' : 'training';
        const rate = (label === 'browser-1' ? 30 : 120) * (0.8 + (0.4 * ((n * 7 + i) % 10)) / 10);
        return {
          t,
          status: gone ? 'gone' : offline ? 'offline' : `connected/${phase}`,
          samplesPerSec: gone || offline ? null : rate,
          bytesSent: i * 40_000 * (1 + (n % 3)),
          bytesReceived: i * 38_000 * (1 + (n % 3)),
        };
      }),
    };
  });
  return {
    version: 1,
    startedAt: '2026-12-04T18:00:00.000Z',
    argv: ['--browsers', String(browsers), '--virtual', String(nodes - browsers), '--faults', 'default'],
    options: { browsers, virtual: nodes - browsers, seed: 7 },
    machine: { cpu: 'Test CPU', cores: 2, node: 'v22.0.0', chromium: '140.0.0.0' },
    coordinator: { url: 'http://127.0.0.1:4000', startedHere: true },
    job: { id: 'job-0123456789ab', name: 'simulate fixture', mode: 'gossip', spec: {} },
    browserMode: browsers > 0 ? 'processes' : 'none',
    samples,
    checkpoints,
    nodes: nodeSeries,
    faults,
    events: [
      { t: 1_000, kind: 'join', message: 'volunteer joined <from a "page">', nodeId: 'v00000000000' },
      { t: at(0.3) + 30_000, kind: 'lease', message: 'lease expired; shard 12 re-issued' },
    ],
    summary: {
      outcome: 'completed',
      finalAccuracy: 0.9412,
      finalLoss: 0.2012,
      wallSeconds: 600,
      samples: 300_000,
      shardsReissued: 3,
      duplicatesRejected: 1,
      bytesPerVolunteer: 4_567_000,
      rejectedFrames: 2,
      leaseLatencyMs: { p50: 2.5, p99: 50 },
      faultsDone: 5,
      faultsPlanned: 6,
      ledger: { shards: 250, countedOnce: 250, uncounted: 0, countedTwice: 0 },
    },
  };
}
