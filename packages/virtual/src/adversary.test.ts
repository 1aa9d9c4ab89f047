// The wire attacker alone, against a fake coordinator: what each behaviour does to the bytes that
// reach the coordinator, and that the volunteer's side of every exchange is left as it was.
import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  decodeShard,
  encodeFp32Frame,
  frameValues,
  shardBytes,
  writeShardHeader,
  type ShardHeader,
} from '@tabswarm/protocol';
import { adversary, type AdversaryBehaviour } from './adversary.ts';

const BASE = 'http://coordinator.test';
const JOB = 'job-0123456789ab';

interface Sent {
  readonly url: string;
  readonly body: Uint8Array | null;
}

/**
 * A fake coordinator: the job's parameters are `reference`, a FedAvg upload is answered with
 * `average`, the dataset has 10 classes, a shard holds labels 0..9.
 */
function fakeCoordinator(reference: Float32Array, average: Float32Array) {
  const sent: Sent[] = [];
  const header: ShardHeader = {
    dtype: 'uint8',
    labelDtype: 'uint8',
    split: 'train',
    start: 0,
    count: 10,
    featureCount: 3,
    normalization: { scale: 1, offset: 0 },
  };
  const shard = new Uint8Array(shardBytes(header));
  const { yOffset } = writeShardHeader(shard, header);
  for (let i = 0; i < 10; i++) shard[yOffset + i] = i;
  const base = (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const body = init?.body instanceof ArrayBuffer ? new Uint8Array(init.body) : null;
    sent.push({ url, body });
    const path = new URL(url).pathname;
    const frame = (values: Float32Array) =>
      new Response(encodeFp32Frame({ jobId: JOB, senderId: 'coordinator', round: 0, values }).slice().buffer);
    if (path.endsWith('/parameters')) return Promise.resolve(frame(reference));
    if (path.endsWith('/fedavg/uploads')) return Promise.resolve(frame(average));
    if (path.includes('/checkpoint-uploads/')) return Promise.resolve(new Response(null, { status: 204 }));
    if (path === '/api/datasets/mnist') {
      const dataset = {
        id: 'mnist',
        name: 'MNIST',
        source: 'builtin',
        featureShape: [3],
        numClasses: 10,
        trainSize: 10,
        testSize: 10,
      };
      return Promise.resolve(Response.json({ ok: true, dataset }));
    }
    if (path === '/api/datasets/mnist/samples') return Promise.resolve(new Response(shard.slice().buffer));
    return Promise.resolve(new Response('not found', { status: 404 }));
  };
  return { sent, base };
}

const upload = (values: Float32Array) =>
  encodeFp32Frame({ jobId: JOB, senderId: 'node-a', round: 3, values }).slice().buffer;

/** What the coordinator received in the last request: its frame's values and header. */
function received(sent: readonly Sent[]) {
  const frame = decodeFrame((sent.at(-1) as Sent).body as Uint8Array);
  if (!frame.ok) throw new Error(frame.message);
  return { values: frameValues(frame), header: frame.header };
}

async function attack(behaviour: AdversaryBehaviour, local: Float32Array) {
  const reference = Float32Array.from(local, (_, i) => i % 3);
  const average = Float32Array.from(local, () => 5);
  const coordinator = fakeCoordinator(reference, average);
  const a = adversary(behaviour, coordinator.base);
  const params = await a.fetch(`${BASE}/api/jobs/${JOB}/parameters`);
  // The volunteer reads the parameters as they were sent.
  const got = decodeFrame(new Uint8Array(await params.arrayBuffer()));
  expect(got.ok && Array.from(frameValues(got))).toEqual(Array.from(reference));
  const reply = await a.fetch(`${BASE}/api/jobs/${JOB}/fedavg/uploads`, {
    method: 'POST',
    body: upload(local),
  });
  const answer = decodeFrame(new Uint8Array(await reply.arrayBuffer()));
  expect(answer.ok && Array.from(frameValues(answer))).toEqual(Array.from(average));
  return { a, coordinator, reference, average };
}

describe('a wire adversary', () => {
  const local = Float32Array.from({ length: 20_000 }, (_, i) => (i % 3) + 0.01 * ((i % 7) - 3));

  it('sign-flip: reference − 1000 × (local − reference), measured from the latest global model', async () => {
    const { a, coordinator, reference, average } = await attack({ kind: 'sign-flip' }, local);
    const first = received(coordinator.sent);
    expect(first.header.senderId).toBe('node-a');
    expect(first.header.round).toBe(3);
    for (const i of [0, 1, 2, 5, 19_999]) {
      const r = reference[i] as number;
      expect(first.values[i]).toBeCloseTo(r - 1000 * ((local[i] as number) - r), 2);
    }
    // The round's average is the next reference; a checkpoint upload is poisoned the same way.
    await a.fetch(`${BASE}/api/jobs/${JOB}/checkpoint-uploads/0123456789abcdef`, {
      method: 'POST',
      body: upload(local),
    });
    const second = received(coordinator.sent);
    expect(second.values[4]).toBeCloseTo(5 - 1000 * ((local[4] as number) - (average[4] as number)), 1);
    expect(a.counts()).toMatchObject({ fedAvgUploads: 1, checkpointUploads: 1 });
  });

  it('noise: local + N(0, σ²) per entry', async () => {
    const { coordinator } = await attack({ kind: 'noise', sigma: 200, seed: 7 }, local);
    const { values } = received(coordinator.sent);
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < values.length; i++) {
      const d = (values[i] as number) - (local[i] as number);
      sum += d;
      squares += d * d;
    }
    const mean = sum / values.length;
    expect(Math.abs(mean)).toBeLessThan(5);
    expect(Math.sqrt(squares / values.length - mean * mean)).toBeGreaterThan(190);
    expect(Math.sqrt(squares / values.length - mean * mean)).toBeLessThan(210);
  });

  it('nan: some entries NaN, the others as trained', async () => {
    const { coordinator } = await attack({ kind: 'nan', fraction: 0.01, seed: 3 }, local);
    const { values } = received(coordinator.sent);
    const nan = values.filter((v) => Number.isNaN(v)).length;
    expect(nan).toBeGreaterThan(100);
    expect(nan).toBeLessThan(400);
    for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) expect(values[i]).toBe(local[i]);
  });

  it('label-flip: training shards arrive with y → C − 1 − y, uploads untouched', async () => {
    const { a, coordinator } = await attack({ kind: 'label-flip' }, local);
    expect(Array.from(received(coordinator.sent).values)).toEqual(Array.from(local));
    await (await a.fetch(`${BASE}/api/datasets/mnist`)).json();
    const train = await a.fetch(`${BASE}/api/datasets/mnist/samples?split=train&start=0&end=10`);
    expect(Array.from(decodeShard(new Uint8Array(await train.arrayBuffer())).y)).toEqual([
      9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
    ]);
    const test = await a.fetch(`${BASE}/api/datasets/mnist/samples?split=test&start=0&end=10`);
    expect(Array.from(decodeShard(new Uint8Array(await test.arrayBuffer())).y)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    expect(a.counts()).toMatchObject({ shardsFlipped: 1, labelsFlipped: 10, fedAvgUploads: 0 });
  });
});
