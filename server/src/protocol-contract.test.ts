/**
 * The coordinator keeps the protocol its clients parse: every JSON REST reply of a real server
 * parses with its route's schema, and every event and ack it sends on /volunteer and /dashboard
 * with the schema of the same name. A server change the clients would reject fails here first.
 */
import { describe, expect, it } from 'vitest';
import {
  DASHBOARD_REQUESTS,
  DASHBOARD_SERVER_EVENTS,
  parseAck,
  parseEvent,
  parseReply,
  PROTOCOL_VERSION,
  REST_REPLIES,
  VOLUNTEER_REQUESTS,
  VOLUNTEER_SERVER_EVENTS,
  type JobInfo,
  type LeaseGrantInfo,
  type RestRoute,
  type SchemaMap,
} from '@tabswarm/protocol';
import { api, capabilities, connected, OPERATOR_TOKEN, request, startServer } from './test-support.ts';

/** Parses every event a socket receives with `schemas`; problems are collected, not thrown. */
function checkEvents(
  socket: { onAny(listener: (event: string, payload: unknown) => void): unknown },
  schemas: SchemaMap,
) {
  const seen = new Set<string>();
  const problems: string[] = [];
  socket.onAny((event, payload) => {
    seen.add(event);
    if (!(event in schemas)) problems.push(`${event}: no schema`);
    else {
      const parsed = parseEvent(schemas, event, payload);
      if (!parsed.ok) problems.push(parsed.error.message);
    }
  });
  return { seen, problems };
}

const CSV = `x1,x2,label\n${Array.from({ length: 20 }, (_, i) => `${i},${i * 2},${i % 2 === 0 ? 'even' : 'odd'}`).join('\n')}\n`;

describe('the coordinator against the protocol schemas', () => {
  it('sends REST replies, events and acks that its clients parse', async () => {
    const running = await startServer();
    try {
      await exercise(running);
    } finally {
      await running.close();
    }
  });
});

/** Provokes every reply and event the clients parse, and checks each with its schema. */
async function exercise(running: Awaited<ReturnType<typeof startServer>>): Promise<void> {
  const { url } = running;
  const replies = new Map<RestRoute, unknown>();
  const get = async (route: RestRoute, path: string, options = {}) => {
    const res = await api(`${url}${path}`, options);
    expect(res.status, `${route}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
    replies.set(route, res.body);
    return res.body;
  };

  const dashboard = running.dashboard();
  const dashboardEvents = checkEvents(dashboard, DASHBOARD_SERVER_EVENTS);
  await connected(dashboard);
  const subscribed = await request(dashboard, 'subscribe', { protocolVersion: PROTOCOL_VERSION });
  expect(parseAck(DASHBOARD_REQUESTS, 'subscribe', subscribed).ok).toBe(true);

  const volunteer = running.volunteer();
  const volunteerEvents = checkEvents(volunteer, VOLUNTEER_SERVER_EVENTS);
  await connected(volunteer);
  const acks = {
    join: await request(volunteer, 'join', { protocolVersion: PROTOCOL_VERSION, capabilities }),
    heartbeat: await request(volunteer, 'heartbeat', { state: 'idle', uptimeS: 1 }),
  };
  const { job } = (await get('POST /api/jobs', '/api/jobs', {
    body: { name: 'digits', training: { batchSize: 100, localSteps: 10, epochs: 1 } },
  })) as { job: JobInfo };
  await running.server.checkpoints().idle();
  const leased = await request<{ lease: LeaseGrantInfo }>(volunteer, 'requestLease', {});
  const lease = leased.ok ? leased.lease : null;
  expect(lease).not.toBeNull();
  const leaseAcks = {
    requestLease: leased,
    completeLease: await request(volunteer, 'completeLease', {
      leaseId: lease?.leaseId,
      loss: 0.5,
      samples: (lease?.end ?? 0) - (lease?.start ?? 0),
      durationMs: 100,
    }),
    linkReport: await request(volunteer, 'linkReport', { links: [], quarantined: [] }),
    exchangeReport: await request(volunteer, 'exchangeReport', {
      jobId: job.id,
      partner: 'peer0123456789',
      exchangeId: 1,
      role: 'initiator',
      round: 1,
      codec: 'fp32',
      outcome: 'ok',
      reason: null,
      distance: 0.5,
      bytesOut: 10,
      bytesIn: 10,
      durationMs: 5,
      link: 'direct',
    }),
  };
  for (const [event, ack] of Object.entries({ ...acks, ...leaseAcks }) as [
    keyof typeof VOLUNTEER_REQUESTS,
    unknown,
  ][]) {
    const parsed = parseAck(VOLUNTEER_REQUESTS, event, ack);
    expect(parsed.ok, `${event}: ${JSON.stringify(parsed)}`).toBe(true);
  }
  const joined = parseAck(VOLUNTEER_REQUESTS, 'join', acks.join);
  const nodeId = joined.ok ? joined.nodeId : '';

  await get('GET /healthz', '/healthz');
  await get('GET /api/nodes', '/api/nodes');
  await get('GET /api/credit', '/api/credit');
  await get('GET /api/credit/:nodeId', `/api/credit/${nodeId}`);
  await get('GET /api/jobs', '/api/jobs');
  await get('GET /api/jobs/:jobId', `/api/jobs/${job.id}`);
  await get('GET /api/jobs/:jobId/metrics', `/api/jobs/${job.id}/metrics`);
  await get('GET /api/jobs/:jobId/checkpoints', `/api/jobs/${job.id}/checkpoints`);
  await get('GET /api/jobs/:jobId/consensus', `/api/jobs/${job.id}/consensus`);
  await get('GET /api/jobs/:jobId/fedavg', `/api/jobs/${job.id}/fedavg`);
  await get('GET /api/events', '/api/events');
  await get('GET /api/gossip/links', '/api/gossip/links');
  await get('GET /api/gossip/links/:nodeId', `/api/gossip/links/${nodeId}`);
  await get('GET /api/datasets', '/api/datasets');
  await get('GET /api/datasets/:id', '/api/datasets/mnist');
  await get('POST /api/datasets', '/api/datasets?uploadId=upload-0001&name=parity', {
    body: CSV,
    contentType: 'text/csv',
    token: OPERATOR_TOKEN,
  });
  await get('GET /api/datasets/uploads/:uploadId', '/api/datasets/uploads/upload-0001');
  await get('POST /api/jobs/:jobId/:action', `/api/jobs/${job.id}/pause`, { method: 'POST' });

  // Every JSON route but the volunteers' checkpoint upload (it needs a live checkpoint request).
  const untested = (Object.keys(REST_REPLIES) as RestRoute[]).filter((r) => !replies.has(r));
  expect(untested).toEqual(['POST /api/jobs/:jobId/checkpoint-uploads/:requestId']);
  for (const [route, body] of replies) {
    const parsed = parseReply(route, body);
    expect(parsed.ok, `${route}: ${parsed.ok ? '' : parsed.error.message}`).toBe(true);
  }
  // Every dashboard event arrived (this scenario provokes each) and parsed.
  expect([...dashboardEvents.seen].sort()).toEqual(Object.keys(DASHBOARD_SERVER_EVENTS).sort());
  expect([...volunteerEvents.seen]).toContain('peers');
  expect([...dashboardEvents.problems, ...volunteerEvents.problems]).toEqual([]);
}
