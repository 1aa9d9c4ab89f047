import { afterEach, describe, expect, it, vi } from 'vitest';
import { PROTOCOL_VERSION, type LogEvent } from '@tabswarm/protocol';
import { EventLog } from './event-log.ts';
import { api, joinVolunteer, request, startServer, type RunningServer } from './test-support.ts';

let running: RunningServer | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('event log', () => {
  it('keeps the newest events within its capacity and filters them', () => {
    const log = new EventLog(3, () => 42);
    log.add('join', 'a', { nodeId: 'v1' });
    log.add('job', 'b', { jobId: 'job-000000000001' });
    log.add('gone', 'c', { nodeId: 'v1', level: 'warn' });
    log.add('join', 'd', { nodeId: 'v2' });
    expect(log.list().map((e) => e.message)).toEqual(['b', 'c', 'd']);
    expect(log.list({ kinds: ['join'] }).map((e) => e.message)).toEqual(['d']);
    expect(log.list({ jobId: 'job-000000000001' })).toHaveLength(1);
    expect(log.list({ limit: 1 })[0]).toMatchObject({ seq: 4, at: 42, message: 'd' });
  });

  it('streams joins, leaves and job changes to dashboards and serves them over REST', async () => {
    running = await startServer();
    const dashboard = running.dashboard();
    const seen: LogEvent[] = [];
    dashboard.on('logEvent', (e) => seen.push(e));
    await request(dashboard, 'subscribe', { protocolVersion: PROTOCOL_VERSION });
    const volunteer = running.volunteer();
    const { nodeId } = await joinVolunteer(volunteer);
    volunteer.disconnect();
    await api(`${running.url}/api/jobs`, { body: { name: 'logged' } });
    await vi.waitFor(() =>
      expect(seen.map((e) => e.kind)).toEqual(expect.arrayContaining(['join', 'leave', 'job'])),
    );
    expect(seen.find((e) => e.kind === 'join')?.nodeId).toBe(nodeId);
    const res = await api<{ events: LogEvent[] }>(`${running.url}/api/events?kind=join,leave`, {
      token: null,
    });
    expect(res.body.events.map((e) => e.kind)).toEqual(['join', 'leave']);
    for (const bad of ['?kind=nope', '?limit=0', '?limit=abc', '?jobId=../x', '?kind=join&kind=leave']) {
      const r = await api<{ ok: boolean }>(`${running.url}/api/events${bad}`, { token: null });
      expect(r.status, bad).toBe(400);
    }
  });
});
