import { describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { NAMESPACES, PEERJS_KEY, PROTOCOL_VERSION } from '@tabswarm/protocol';
import { ConfigError, resolveConfig } from './config.ts';
import { checkOrigin, parseOriginList } from './origin-policy.ts';
import { PEERJS_WS_PATH } from './peer-signalling.ts';
import {
  closedAfterEach,
  connected,
  joinVolunteer,
  startServer,
  type RunningServer,
} from './test-support.ts';

const track = closedAfterEach<RunningServer>();

/** Connects to the volunteer namespace as a page of `origin` would: 'connected', or the error. */
function connectFrom(url: string, origin: string | undefined): Promise<string> {
  const socket = io(`${url}${NAMESPACES.volunteer}`, {
    transports: ['websocket'],
    auth: { protocolVersion: PROTOCOL_VERSION },
    reconnection: false,
    forceNew: true,
    ...(origin !== undefined && { extraHeaders: { origin } }),
  });
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.disconnect();
      resolve('connected');
    });
    socket.once('connect_error', (error) => {
      socket.disconnect();
      resolve(error.message);
    });
  });
}

/** Opens PeerJS signalling as a page of `origin`; resolves the upgrade's status (101 when open). */
function peerFrom(url: string, id: string, token: string, origin: string): Promise<number> {
  const wsUrl = `${url.replace('http', 'ws')}${PEERJS_WS_PATH}?key=${PEERJS_KEY}&id=${id}&token=${token}&version=1.5.5`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { headers: { origin } });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });
}

describe('checkOrigin', () => {
  it('allows no Origin (programs), the same host and port, and listed origins only', () => {
    expect(checkOrigin(undefined, 'c.example:8080', [])).toEqual({ ok: true });
    expect(checkOrigin('http://c.example:8080', 'c.example:8080', [])).toEqual({ ok: true });
    expect(checkOrigin('http://c.example:9090', 'c.example:8080', []).ok).toBe(false);
    expect(checkOrigin('https://evil.example', 'c.example:8080', []).ok).toBe(false);
    expect(checkOrigin('https://ok.example', 'c.example:8080', ['https://ok.example']).ok).toBe(true);
    expect(checkOrigin('null', 'c.example:8080', [])).toEqual({
      ok: false,
      reason: 'origin null is not allowed',
    });
    expect(checkOrigin('::', 'c.example:8080', []).ok).toBe(false);
  });

  it('parses the flag and refuses what is not an origin, with a message', () => {
    expect(parseOriginList('https://a.example, http://b.example:8080/')).toEqual([
      'https://a.example',
      'http://b.example:8080',
    ]);
    expect(resolveConfig(['--allowed-origins', 'https://a.example'], {}).allowedOrigins).toEqual([
      'https://a.example',
    ]);
    for (const bad of ['a.example', 'ftp://a.example', 'https://a.example/path']) {
      expect(() => resolveConfig(['--allowed-origins', bad], {})).toThrow(ConfigError);
    }
    expect(() => resolveConfig(['--allowed-origins', 'https://a.example/x'], {})).toThrow(/no path/);
  });
});

describe('sockets refuse pages of other origins', () => {
  it('socket.io: same origin and programs connect, a foreign origin gets 403, a listed one connects', async () => {
    const running = track(await startServer({ allowedOrigins: ['https://partner.example'] }));
    const own = new URL(running.url).origin;
    expect(await connectFrom(running.url, undefined)).toBe('connected');
    expect(await connectFrom(running.url, own)).toBe('connected');
    expect(await connectFrom(running.url, 'https://partner.example')).toBe('connected');
    expect(await connectFrom(running.url, 'https://evil.example')).not.toBe('connected');
    // Polling (what a page falls back to) answers a coded 403 with the reason.
    const polling = await fetch(`${running.url}/socket.io/?EIO=4&transport=polling`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(polling.status).toBe(403);
    expect(await polling.json()).toMatchObject({ message: 'origin https://evil.example is not allowed' });
  });

  it('PeerJS signalling: a member token from a foreign page is refused, from its own page accepted', async () => {
    const running = track(await startServer());
    const volunteer = running.volunteer();
    await connected(volunteer);
    const accepted = await joinVolunteer(volunteer);
    const { nodeId } = accepted;
    const { token } = accepted.peerjs;
    expect(await peerFrom(running.url, nodeId, token, 'https://evil.example')).toBe(403);
    expect(await peerFrom(running.url, nodeId, token, new URL(running.url).origin)).toBe(101);
  });
});
