import { io } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import {
  PROTOCOL_VERSION,
  RELAY_MAX_MESSAGE_BYTES,
  type RelayedMessage,
  type Reply,
} from '@tabswarm/protocol';
import { closedAfterEach, request, type VolunteerClient } from '../test-support.ts';
import { startGossipServer, type GossipTestServer } from './test-support.ts';

const track = closedAfterEach<GossipTestServer>();

const relay = (socket: VolunteerClient, to: string, data: unknown) =>
  request<{ queuedMs: number }>(socket, 'relay', { to, data });

function collect(socket: VolunteerClient): RelayedMessage[] {
  const got: RelayedMessage[] = [];
  socket.on('relayed', (message) => got.push(message));
  return got;
}

const message = (size: number, seed: number): Uint8Array =>
  Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff);

describe('socket.io relay through the coordinator', () => {
  it('forwards binary messages between two volunteers intact and in order', async () => {
    const server = track(await startGossipServer());
    const a = await server.volunteer();
    const b = await server.volunteer();
    const got = collect(b.socket);
    const sent = Array.from({ length: 12 }, (_, k) => message(64 * 1024 + 32, k));
    const replies = await Promise.all(sent.map((m) => relay(a.socket, b.nodeId, m)));
    expect(replies.every((r) => r.ok)).toBe(true);
    await expect.poll(() => got.length).toBe(12);
    got.forEach((m, k) => {
      expect(m.from).toBe(a.nodeId);
      expect(Buffer.compare(Buffer.from(m.data), Buffer.from(sent[k] as Uint8Array))).toBe(0);
    });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/tabswarm_relay_bytes_total \d{6,}/);
  });

  it('validates: sender joined, recipient active, binary, size cap, not to itself', async () => {
    const server = track(await startGossipServer());
    const a = await server.volunteer();
    const b = await server.volunteer();
    const code = (r: Reply<object>) => (r.ok ? 'ok' : r.code);
    expect(code(await relay(a.socket, 'vnobody0000000000', message(10, 1)))).toBe('UNKNOWN_NODE');
    expect(code(await relay(a.socket, a.nodeId, message(10, 1)))).toBe('BAD_REQUEST');
    expect(code(await relay(a.socket, b.nodeId, 'not bytes'))).toBe('BAD_REQUEST');
    expect(code(await relay(a.socket, b.nodeId, message(RELAY_MAX_MESSAGE_BYTES + 1, 1)))).toBe(
      'BAD_REQUEST',
    );
    expect(code(await relay(a.socket, b.nodeId, new Uint8Array(0)))).toBe('BAD_REQUEST');
    const unjoined = io(`${server.url}/volunteer`, {
      transports: ['websocket'],
      auth: { protocolVersion: PROTOCOL_VERSION },
      reconnection: false,
      forceNew: true,
    });
    try {
      expect(code(await request(unjoined, 'relay', { to: b.nodeId, data: message(10, 1) }))).toBe(
        'NOT_JOINED',
      );
    } finally {
      unjoined.disconnect();
    }
  });

  it('paces each volunteer to its rate (token bucket), and refuses a sender that ignores acknowledgements', async () => {
    const server = track(
      await startGossipServer({
        relay: { bytesPerSec: 1_000_000, burstBytes: 100_000, maxQueuedBytes: 300_000 },
      }),
    );
    const a = await server.volunteer();
    const b = await server.volunteer();
    const got = collect(b.socket);
    // A well-behaved sender: one 50 KB message at a time, waiting for each acknowledgement.
    const started = Date.now();
    for (let k = 0; k < 12; k++) expect((await relay(a.socket, b.nodeId, message(50_000, k))).ok).toBe(true);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThan(400); // 600 KB at 1 MB/s after a 100 KB burst: ≥ 0.5 s
    expect(elapsed).toBeLessThan(3_000);
    // A flood: everything at once. What fits the queue is forwarded (late); the rest is refused.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const flood = await Promise.all(
      Array.from({ length: 20 }, (_, k) => relay(a.socket, b.nodeId, message(50_000, k))),
    );
    const refused = flood.filter((r) => !r.ok);
    expect(refused.length).toBeGreaterThan(5);
    expect(refused[0]).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    await expect.poll(() => got.length).toBe(12 + flood.filter((r) => r.ok).length);
    // Another volunteer has its own bucket.
    const c = await server.volunteer();
    expect((await relay(c.socket, b.nodeId, message(50_000, 1))).ok).toBe(true);
  });
});

describe('link and exchange reports', () => {
  it('stores each volunteer latest link report and serves it', async () => {
    const server = track(await startGossipServer());
    const a = await server.volunteer();
    const b = await server.volunteer();
    const report = {
      links: [
        {
          peer: b.nodeId,
          kind: 'relay',
          open: true,
          rttMs: 12.5,
          bytesIn: 100,
          bytesOut: 2_000_000,
          framesIn: 1,
          framesOut: 5,
          rejected: { NORM: 2 },
          lastError: 'DIAL_TIMEOUT: no connection in time',
        },
      ],
      quarantined: [b.nodeId],
    };
    expect(await request(a.socket, 'linkReport', report)).toMatchObject({ ok: true });
    expect(await request(a.socket, 'linkReport', { links: [{ peer: 'x' }], quarantined: [] })).toMatchObject({
      ok: false,
      code: 'BAD_REQUEST',
    });
    const res = (await (await fetch(`${server.url}/api/gossip/links`)).json()) as unknown;
    expect(res).toMatchObject({ nodes: [{ nodeId: a.nodeId, ...report }] });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('tabswarm_gossip_links{kind="relay"} 1');
    expect(metrics).toContain('tabswarm_gossip_rejected_frames{reason="NORM"} 2');
  });

  it('keeps exchange reports per job as the consensus series', async () => {
    const server = track(await startGossipServer());
    const a = await server.volunteer();
    const b = await server.volunteer();
    const report = (distance: number, outcome = 'ok') => ({
      jobId: 'job-0123456789ab',
      partner: b.nodeId,
      exchangeId: 7,
      role: 'initiator',
      round: 3,
      codec: 'fp16',
      outcome,
      reason: null,
      distance,
      bytesOut: 200_000,
      bytesIn: 200_100,
      durationMs: 35,
      link: 'direct',
    });
    for (const d of [0.5, 0.25])
      expect(await request(a.socket, 'exchangeReport', report(d))).toMatchObject({ ok: true });
    expect(await request(a.socket, 'exchangeReport', report(0.1, 'busy'))).toMatchObject({ ok: true });
    expect(
      await request(a.socket, 'exchangeReport', { ...report(1), jobId: 'job-ffffffffffff' }),
    ).toMatchObject({
      ok: false,
      code: 'UNKNOWN_JOB',
    });
    expect(await request(a.socket, 'exchangeReport', { ...report(1), distance: -1 })).toMatchObject({
      ok: false,
    });
    const series = (await (await fetch(`${server.url}/api/jobs/job-0123456789ab/consensus`)).json()) as {
      buckets: { meanDistance: number; exchanges: number; ok: number }[];
      points: unknown[];
      totals: unknown;
    };
    expect(series.points).toHaveLength(3);
    expect(series.buckets.at(-1)).toMatchObject({ meanDistance: 0.375, ok: 2 });
    expect(series.totals).toEqual({
      exchanges: 3,
      byOutcome: { ok: 2, busy: 1 },
      bytesByCodec: { fp16: 600_000 },
    });
    expect((await fetch(`${server.url}/api/jobs/job-ffffffffffff/consensus`)).status).toBe(404);
  });
});
