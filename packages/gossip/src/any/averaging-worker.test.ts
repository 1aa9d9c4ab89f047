import { afterEach, describe, expect, it } from 'vitest';
import { averagingSpecSchema, type AveragingSpec } from '@tabswarm/protocol';
import { AveragingClient } from './averaging-client.ts';
import { AveragingService } from './averaging-service.ts';
import { MemoryNetwork } from './connector.ts';
import { averagingKernelsFor } from './kernel-library.ts';
import { LinkHost } from './link-host.ts';
import { MemoryCoordinator } from './memory-coordinator.ts';
import { randomVector } from './test-helpers.ts';

/**
 * The volunteer page's averaging as it runs in the browser, with real MessageChannels between the
 * "page" (AveragingClient, LinkHost over the links) and the "worker" (AveragingService, holding the
 * parameters): the page asks for an average after each shard and never sees a parameter vector.
 */
const JOB = 'job-000000000001';
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Tab {
  readonly id: string;
  readonly client: AveragingClient;
  readonly service: AveragingService;
  /** The worker's parameters (the trainer's GPU buffer in the browser). */
  values: Float32Array;
  writes: number;
  /** Messages the page received on the averaging channel, by kind. */
  readonly pageSaw: unknown[];
}

function tabs(count: number, spec: AveragingSpec, elements = 20_000) {
  const network = new MemoryNetwork({ bytesPerTick: 1 << 20 });
  const coordinator = new MemoryCoordinator();
  const result: Tab[] = [];
  for (let i = 0; i < count; i++) {
    const id = `vtab${i}`;
    const control = new MessageChannel();
    const links = new MessageChannel();
    const tab: Tab = {
      id,
      values: randomVector(elements, i + 1),
      writes: 0,
      pageSaw: [],
      client: new AveragingClient({
        baseUrl: 'http://127.0.0.1:1',
        runtime: {
          averagingOf: (jobId) => (jobId === JOB ? spec : undefined),
          accepted: { nodeId: id, peerjs: { token: 'token' } },
        },
      }),
      service: undefined as unknown as AveragingService,
    };
    (tab as { service: AveragingService }).service = new AveragingService({
      control: control.port2,
      links: links.port2,
      kernels: () => averagingKernelsFor('wasm'),
      parameters: (jobId) => ({
        jobId,
        read: () => Promise.resolve(tab.values.slice()),
        write: (v) => {
          tab.writes++;
          tab.values = v.slice();
          return Promise.resolve();
        },
      }),
    });
    control.port1.addEventListener('message', (event: MessageEvent) => tab.pageSaw.push(event.data));
    tab.client.attachWorker(control.port1, links.port1);
    tab.client.setHost(new LinkHost({ coordinator: coordinator.join(id), connector: network.connector(id) }));
    cleanups.push(() => {
      tab.client.close();
      for (const port of [control.port1, control.port2, links.port1, links.port2]) port.close();
    });
    result.push(tab);
  }
  return { network, coordinator, tabs: result };
}

const context = (signal = new AbortController().signal) => ({
  lease: { jobId: JOB, start: 0, end: 64 },
  signal,
});

function distance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] ?? 0) - (b[i] ?? 0)) ** 2;
  return Math.sqrt(s);
}

describe('averaging in the worker (page client, worker service, link bridge)', () => {
  it('after each shard the worker averages with a peer in place; the page only relays', async () => {
    const spec = averagingSpecSchema.parse({ exchangeTimeoutMs: 2_000 });
    const { coordinator, tabs: [a, b] = [] } = tabs(2, spec);
    if (!a || !b) throw new Error('no tabs');
    await sleep(20); // hellos delivered, meshes built
    const sumBefore = a.values.reduce((s, v) => s + v, 0) + b.values.reduce((s, v) => s + v, 0);
    const before = distance(a.values, b.values);
    // First shard on both at once: each worker starts its averager (their exchanges may cross,
    // busy, and be skipped: no barrier). Then one after the other: a's exchange is answered by b,
    // and b's next shard takes that change and exchanges again.
    await Promise.all([
      a.client.afterShard({ jobId: JOB }, context()),
      b.client.afterShard({ jobId: JOB }, context()),
    ]);
    await a.client.afterShard({ jobId: JOB }, context());
    await b.client.afterShard({ jobId: JOB }, context());
    expect(distance(a.values, b.values)).toBeLessThan(before * 1e-3);
    const sumAfter = a.values.reduce((s, v) => s + v, 0) + b.values.reduce((s, v) => s + v, 0);
    expect(Math.abs(sumAfter - sumBefore) / Math.abs(sumBefore)).toBeLessThan(1e-4);
    expect(coordinator.exchangeReports.some((r) => r.report.outcome === 'ok')).toBe(true);
    // The page's averaging channel carried requests and answers only: no parameter vector.
    const vectors = [...a.pageSaw, ...b.pageSaw].filter((m) =>
      JSON.stringify(m, (_k, v: unknown) => (v instanceof Float32Array ? '<vector>' : v)).includes(
        '<vector>',
      ),
    );
    expect(vectors).toEqual([]);
    const stats = await a.client.stats();
    expect(stats?.implementation).toBe('reference');
    expect(stats?.calls['l2Norm']).toBeGreaterThan(0);
    expect(stats?.exchanges).toBeGreaterThan(0);
  });

  it('a test exchange averages seeded vectors exactly; blocked peers are not reached', async () => {
    const spec = averagingSpecSchema.parse({});
    const { tabs: [a, b] = [] } = tabs(2, spec);
    if (!a || !b) throw new Error('no tabs');
    await sleep(20);
    const n = 100_000;
    const sample = [0, 1, 777, 50_000, n - 1];
    const answering = b.client.testExchange(null, n, 11, sample, 5_000);
    const initiating = await a.client.testExchange(b.id, n, 12, sample, 5_000);
    const answered = await answering;
    expect(initiating.ok).toBe(true);
    expect(answered.ok).toBe(true);
    const x = randomVector(n, 12);
    const y = randomVector(n, 11);
    const expected = sample.map((i) => ((x[i] ?? 0) + (y[i] ?? 0)) / 2);
    for (const [k, value] of expected.entries()) {
      expect(initiating.sampled[k]).toBeCloseTo(value, 6);
      expect(answered.sampled[k]).toBeCloseTo(value, 6);
    }
    a.client.blockPeers([b.id]);
    const blocked = await a.client.sendTestFrame(b.id, 10);
    expect(blocked.ok).toBe(false);
    a.client.unblockPeers();
    const sent = await a.client.sendTestFrame(b.id, 1_000);
    expect(sent.ok).toBe(true);
  });

  it("a shard whose lease the page gave up on is not written back by the worker's averaging", async () => {
    const spec = averagingSpecSchema.parse({ exchangeTimeoutMs: 600 });
    const { network, tabs: [a, b] = [] } = tabs(2, spec);
    if (!a || !b) throw new Error('no tabs');
    await sleep(20);
    await a.client.afterShard({ jobId: JOB }, context());
    expect(a.writes).toBe(1); // an exchange, or its timeout: the result is written back either way
    network.kill(b.id); // the next exchange waits for its timeout
    const controller = new AbortController();
    const pending = a.client.afterShard({ jobId: JOB }, context(controller.signal));
    await sleep(100);
    controller.abort();
    await pending;
    expect(a.writes).toBe(1);
  });

  it('a request to a worker that died is answered, not left hanging', async () => {
    const spec = averagingSpecSchema.parse({ exchangeTimeoutMs: 60_000 });
    const control = new MessageChannel(); // no service at the other end: the worker never answers
    const links = new MessageChannel();
    const network = new MemoryNetwork();
    const coordinator = new MemoryCoordinator();
    const client = new AveragingClient({
      baseUrl: 'http://127.0.0.1:1',
      runtime: { averagingOf: () => spec, accepted: { nodeId: 'vtab9', peerjs: { token: 't' } } },
    });
    cleanups.push(() => {
      client.close();
      for (const port of [control.port1, control.port2, links.port1, links.port2]) port.close();
    });
    client.attachWorker(control.port1, links.port1);
    client.setHost(
      new LinkHost({ coordinator: coordinator.join('vtab9'), connector: network.connector('vtab9') }),
    );
    const pending = client.afterShard({ jobId: JOB }, context());
    client.workerGone(control.port1);
    await expect(pending).rejects.toThrow('the trainer worker is gone');
  });
});
