/**
 * Measures a fleet at scale by hand: starts the real coordinator (main.ts, as `npm start` does),
 * submits a small-shard mnist-mlp job that runs its epochs out, starts N virtual volunteers over
 * the cores, and prints the time until all joined, the lease latency the coordinator measured,
 * a probe's heartbeat round trips, the total time and the shard accounting.
 *   npx tsx packages/virtual/src/fleet-scale.ts [count=1000] [epochs=1] [batch=16] [steps=2]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import { NAMESPACES, PROTOCOL_VERSION } from '@tabswarm/protocol';
import { ONE_ADDRESS_RATE_LIMITS } from '../../../server/src/rate-limit.ts';
import { spawnCoordinator } from '../../../server/src/spawn-coordinator.ts';
import { startVirtualFleet } from './fleet.ts';
import { OperatorClient } from './operator-client.ts';
import { shardAccounting } from './shard-accounting.ts';

const [count = 1000, epochs = 1, batchSize = 16, localSteps = 2] = process.argv
  .slice(2)
  .map((a) => Number(a));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const quantile = (xs: number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};

/** p50/p99 of a Prometheus histogram (upper bucket bounds) for one label set. */
function histogramQuantiles(metrics: string, name: string, match: string): string {
  const buckets: [number, number][] = [];
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}_bucket`) || !line.includes(match)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.split(' ').at(-1));
    if (le !== undefined) buckets.push([le === '+Inf' ? Infinity : Number(le), value]);
  }
  const total = buckets.at(-1)?.[1] ?? 0;
  const q = (p: number): string => {
    const hit = buckets.find(([, n]) => n >= p * total);
    return hit === undefined ? '?' : `≤${hit[0]} s`;
  };
  return `n=${total} p50 ${q(0.5)} p99 ${q(0.99)}`;
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tabswarm-fleet-scale-'));
const coordinator = await spawnCoordinator({
  dataDir,
  args: [
    '--heartbeat-interval-ms',
    '5000',
    '--heartbeat-timeout-ms',
    '30000',
    '--rate-limits',
    ONE_ADDRESS_RATE_LIMITS,
  ],
  env: { LOG_LEVEL: 'warn' },
});
const operator = new OperatorClient(
  coordinator.url,
  fs.readFileSync(path.join(dataDir, 'operator-token'), 'utf8').trim(),
);
const started = Date.now();
const fleet = await startVirtualFleet({ baseUrl: coordinator.url, count: 0, backend: 'cpu' });
const probe = io(`${coordinator.url}${NAMESPACES.volunteer}`, {
  transports: ['websocket'],
  auth: { protocolVersion: PROTOCOL_VERSION },
});
const rtts: number[] = [];
try {
  const job = await operator.createJob({
    name: `fleet scale ${count}`,
    model: { kind: 'preset', preset: 'mnist-mlp' },
    dataset: 'mnist',
    training: { optimizer: { type: 'adam' }, learningRate: 0.003, batchSize, localSteps, epochs, seed: 1 },
    averaging: { mode: 'gossip', exchangeTimeoutMs: 5_000 },
    checkpoint: { everyShards: 100, contributors: 2 },
  });
  console.log(
    `job ${job.id}: ${job.shardCount} shards per epoch of ${job.shardSize} samples, ${epochs} epoch(s)`,
  );
  if (!probe.connected) await new Promise<void>((resolve) => probe.once('connect', () => resolve()));
  const probing = setInterval(() => {
    const sent = performance.now();
    probe
      .timeout(30_000)
      .emit('heartbeat' as never, { state: 'idle', uptimeS: 1, leases: [] }, () =>
        rtts.push(performance.now() - sent),
      );
  }, 250);
  // Added in batches, as volunteers arrive over a minute or so in life.
  for (let added = 0; added < count; added += 100) {
    await fleet.add(Math.min(100, count - added));
    console.log(`${((Date.now() - started) / 1000).toFixed(0)} s: ${Math.min(count, added + 100)} started`);
  }
  const addedAt = Date.now();
  let allJoinedAt: number | null = null;
  for (;;) {
    const [latest, nodes] = await Promise.all([
      operator.getJob(job.id),
      fetch(`${coordinator.url}/api/nodes`).then((r) => r.json() as Promise<{ nodes: { status: string }[] }>),
    ]);
    const active = nodes.nodes.filter((n) => n.status === 'active').length;
    if (allJoinedAt === null && active >= count) allJoinedAt = Date.now();
    const snap = await fleet.snapshot();
    const training = snap.filter((s) => s.status === 'training').length;
    console.log(
      `${((Date.now() - started) / 1000).toFixed(0)} s: ${active} active, ${training} training, job ${latest.status} ${latest.shardsDone}/${latest.totalShards} shards, rtt p99 ${quantile(rtts.slice(-40), 0.99).toFixed(0)} ms`,
    );
    if (latest.status === 'completed' || latest.status === 'failed') break;
    await sleep(5_000);
  }
  clearInterval(probing);
  const done = Date.now();
  const metrics = await (await fetch(`${coordinator.url}/metrics`)).text();
  const snap = await fleet.snapshot();
  const accounting = shardAccounting(dataDir, job.id);
  console.log(
    JSON.stringify(
      {
        volunteers: count,
        fleetAddSeconds: (addedAt - started) / 1000,
        allJoinedSeconds: allJoinedAt === null ? null : (allJoinedAt - started) / 1000,
        totalSeconds: (done - started) / 1000,
        requestLease: histogramQuantiles(
          metrics,
          'tabswarm_request_duration_seconds',
          'request="requestLease"',
        ),
        completeLease: histogramQuantiles(
          metrics,
          'tabswarm_request_duration_seconds',
          'request="completeLease"',
        ),
        probeHeartbeatRttMs: { p50: quantile(rtts, 0.5), p99: quantile(rtts, 0.99), n: rtts.length },
        volunteersThatTrained: snap.filter((s) => s.shardsDone > 0).length,
        exchangesApplied: snap.reduce((a, s) => a + s.exchangesApplied, 0),
        accounting,
      },
      null,
      2,
    ),
  );
} finally {
  probe.close();
  await fleet.stop();
  coordinator.child.kill('SIGTERM');
  await coordinator.exited;
  fs.rmSync(dataDir, { recursive: true, force: true });
}
