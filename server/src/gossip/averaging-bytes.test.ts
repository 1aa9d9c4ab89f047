// The averaging bytes on /metrics: gossip exchanges as each side reports them, FedAvg uploads and
// the averages served, by job, mode and direction (the volunteer's side); and per volunteer with
// its link report, for the dashboard's node table.
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeFp32Frame,
  FEDAVG_SAMPLES_HEADER,
  fedAvgCredential,
  fedAvgUploadPath,
} from '@tabswarm/protocol';
import { request } from '../test-support.ts';
import { FEDAVG_JOB, startGossipServer, type GossipTestServer } from './test-support.ts';

let server: GossipTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const metric = (text: string, mode: string, direction: string): number => {
  const line = text
    .split('\n')
    .find((l) =>
      l.startsWith(
        `tabswarm_averaging_bytes_total{job="${FEDAVG_JOB}",mode="${mode}",direction="${direction}"}`,
      ),
    );
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
};

describe('averaging bytes on /metrics', () => {
  it('counts what gossip exchanges reported and what FedAvg uploads and averages carried', async () => {
    server = await startGossipServer({ job: { expected: 1 } });
    const a = await server.volunteer();
    const b = await server.volunteer();
    const report = {
      jobId: FEDAVG_JOB,
      partner: b.nodeId,
      exchangeId: 7,
      role: 'initiator',
      round: 3,
      codec: 'int8',
      outcome: 'ok',
      reason: null,
      distance: 0.1,
      bytesOut: 26_000,
      bytesIn: 26_100,
      durationMs: 35,
      link: 'direct',
    };
    for (let i = 0; i < 2; i++)
      expect(await request(a.socket, 'exchangeReport', report)).toMatchObject({ ok: true });
    // A refused report counts nothing.
    expect(await request(a.socket, 'exchangeReport', { ...report, bytesOut: -1 })).toMatchObject({
      ok: false,
    });

    const frame = encodeFp32Frame({
      jobId: FEDAVG_JOB,
      senderId: a.nodeId,
      round: 0,
      values: new Float32Array(1000),
    });
    const res = await fetch(`${server.url}${fedAvgUploadPath(FEDAVG_JOB)}`, {
      method: 'POST',
      headers: {
        authorization: fedAvgCredential(a.nodeId, a.token),
        'content-type': 'application/octet-stream',
        [FEDAVG_SAMPLES_HEADER]: '100',
      },
      body: frame.buffer as ArrayBuffer,
    });
    expect(res.status).toBe(200);
    const average = (await res.arrayBuffer()).byteLength;

    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(metric(text, 'gossip', 'sent')).toBe(52_000);
    expect(metric(text, 'gossip', 'received')).toBe(52_200);
    expect(metric(text, 'fedavg', 'sent')).toBe(frame.byteLength);
    expect(metric(text, 'fedavg', 'received')).toBe(average);
    expect(average).toBeGreaterThan(4000);

    // Per volunteer, with its link report (the dashboard's node table): a's gossip and FedAvg bytes.
    expect(await request(a.socket, 'linkReport', { links: [], quarantined: [] })).toMatchObject({ ok: true });
    const links = (await (await fetch(`${server.url}/api/gossip/links/${a.nodeId}`)).json()) as unknown;
    expect(links).toMatchObject({
      nodeId: a.nodeId,
      averaging: { bytesOut: 52_000 + frame.byteLength, bytesIn: 52_200 + average },
    });
    expect(await request(b.socket, 'linkReport', { links: [], quarantined: [] })).toMatchObject({ ok: true });
    const none = (await (await fetch(`${server.url}/api/gossip/links/${b.nodeId}`)).json()) as object;
    expect('averaging' in none).toBe(false);
  });
});
