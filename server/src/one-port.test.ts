import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  closedAfterEach,
  api,
  connected,
  joinVolunteer,
  openPeerSocket,
  OPERATOR_TOKEN,
  request,
  startServer,
  type RunningServer,
} from './test-support.ts';

const track = closedAfterEach<RunningServer>();

describe('one HTTP port for socket.io and PeerJS', () => {
  it('serves socket.io over websocket and PeerJS signalling side by side', async () => {
    const running = track(await startServer());
    const volunteer = running.volunteer();
    await connected(volunteer);
    expect(volunteer.io.engine.transport.name).toBe('websocket');
    const accepted = await joinVolunteer(volunteer);

    const peer = await openPeerSocket(running.url, accepted.nodeId, accepted.peerjs.token);
    expect(peer.status).toBe('message');
    if (peer.status === 'message') expect(JSON.parse(peer.data)).toMatchObject({ type: 'OPEN' });

    // socket.io still works after the PeerJS upgrade on the same port.
    expect(await request(volunteer, 'heartbeat', { state: 'idle', uptimeS: 1 })).toMatchObject({ ok: true });
  });

  it('refuses PeerJS registration without the node token, and for unknown ids', async () => {
    const running = track(await startServer());
    const volunteer = running.volunteer();
    const accepted = await joinVolunteer(volunteer);
    expect(await openPeerSocket(running.url, accepted.nodeId, 'f'.repeat(32))).toEqual({
      status: 'rejected',
      code: 403,
    });
    expect(await openPeerSocket(running.url, 'vunknown0000', accepted.peerjs.token)).toEqual({
      status: 'rejected',
      code: 403,
    });
  });

  it('closes upgrades for paths nobody owns', async () => {
    const running = track(await startServer());
    const ws = new WebSocket(`${running.url.replace('http', 'ws')}/elsewhere`);
    const outcome = await new Promise<string>((resolve) => {
      ws.once('open', () => resolve('open'));
      ws.once('error', () => resolve('error'));
    });
    expect(outcome).toBe('error');
  });

  it('answers /healthz and exposes volunteer and socket-event metrics', async () => {
    const running = track(await startServer());
    const volunteer = running.volunteer();
    await joinVolunteer(volunteer);
    await request(volunteer, 'heartbeat', { state: 'bogus' });

    const health = (await (await fetch(`${running.url}/healthz`)).json()) as {
      ok: boolean;
      volunteersActive: number;
    };
    expect(health).toEqual({ ok: true, volunteersActive: 1 });

    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    expect(metrics).toMatch(/^tabswarm_volunteers_connected 1$/m);
    expect(metrics).toMatch(/^tabswarm_volunteers_active 1$/m);
    expect(metrics).toMatch(
      /^tabswarm_socket_events_total\{namespace="volunteer",event="join",outcome="ok"\} 1$/m,
    );
    expect(metrics).toMatch(
      /^tabswarm_socket_events_total\{namespace="volunteer",event="heartbeat",outcome="BAD_REQUEST"\} 1$/m,
    );
  });

  it('checks an operator token without side effects', async () => {
    const running = track(await startServer());
    expect((await api(`${running.url}/api/auth`, { token: null })).status).toBe(401);
    expect((await api(`${running.url}/api/auth`, { token: 'not-the-token-at-all' })).status).toBe(403);
    expect(
      (await fetch(`${running.url}/api/auth`, { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } }))
        .status,
    ).toBe(204);
  });

  it('says the pages are not built instead of failing silently', async () => {
    const running = track(await startServer({ dashboardDir: '/nonexistent', volunteerDir: '/nonexistent' }));
    const res = await fetch(`${running.url}/volunteer/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/not built/);
  });
});
