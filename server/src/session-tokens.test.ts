import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeFp32Frame,
  FEDAVG_SAMPLES_HEADER,
  fedAvgCredential,
  fedAvgUploadPath,
  PROTOCOL_VERSION,
} from '@tabswarm/protocol';
import type { JoinAccepted } from '@tabswarm/protocol';
import { FEDAVG_JOB, startGossipServer, type GossipTestServer } from './gossip/test-support.ts';
import { Membership } from './membership.ts';
import { SessionTokens } from './session-tokens.ts';
import { openStore } from './store/store.ts';
import {
  capabilities,
  closedAfterEach,
  joinVolunteer,
  openPeerSocket,
  request,
  startServer,
  tempDir,
  type RunningServer,
} from './test-support.ts';

const NODE = 'v0123456789abcdef';
const OTHER = 'vfedcba9876543210';
const SESSION = '00112233aabbccdd';

/** A token with one character of its signature changed. */
const forged = (token: string): string => {
  const last = token.at(-1) === 'A' ? 'B' : 'A';
  return `${token.slice(0, -1)}${last}`;
};

describe('SessionTokens', () => {
  it('verifies its own tokens for the node they name until they expire', () => {
    let now = 1_000_000;
    const tokens = new SessionTokens(60_000, () => now);
    const { token, expiresAt } = tokens.issue(NODE, SESSION);
    expect(expiresAt).toBe(1_060_000);
    expect(tokens.verify(token, NODE)).toEqual({ ok: true, nodeId: NODE, sessionId: SESSION, expiresAt });
    expect(tokens.dueForRenewal(expiresAt)).toBe(false);
    now += 30_001;
    expect(tokens.dueForRenewal(expiresAt)).toBe(true);
    expect(tokens.verify(token, NODE).ok).toBe(true);
    now = expiresAt;
    expect(tokens.verify(token, NODE)).toMatchObject({ ok: false, code: 'UNAUTHORIZED' });
  });

  it('refuses forged tokens, another coordinator’s, another node’s and anything else', () => {
    const now = (): number => 5_000;
    const tokens = new SessionTokens(60_000, now);
    const { token } = tokens.issue(NODE, SESSION);
    const refused = (t: string, claimed = NODE) => tokens.verify(t, claimed);
    expect(refused(forged(token))).toMatchObject({ ok: false, code: 'FORBIDDEN', message: /not signed/ });
    const elsewhere = new SessionTokens(60_000, now).issue(NODE, SESSION).token;
    expect(refused(elsewhere)).toMatchObject({ ok: false, code: 'FORBIDDEN', message: /not signed/ });
    // The node id is signed: renaming it breaks the signature; presenting it for another id is refused.
    expect(refused(token.replace(NODE, OTHER), OTHER)).toMatchObject({ ok: false, message: /not signed/ });
    expect(refused(token, OTHER)).toMatchObject({
      ok: false,
      code: 'FORBIDDEN',
      message: /another volunteer/,
    });
    // A later expiry written in is not signed either.
    const [n, s, , sig] = token.split('.');
    expect(refused(`${n}.${s}.${(10 ** 15).toString(36)}.${sig}`)).toMatchObject({ ok: false });
    for (const junk of ['', 'f'.repeat(32), `${token}.`, `${token}x`, token.replace(/\./g, '-')]) {
      expect(refused(junk)).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    }
  });
});

describe('session tokens over HTTP uploads', () => {
  let server: GossipTestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const upload = async (s: GossipTestServer, nodeId: string, token: string) => {
    const frame = encodeFp32Frame({
      jobId: FEDAVG_JOB,
      senderId: nodeId,
      round: 0,
      values: new Float32Array(1000),
    });
    const res = await fetch(`${s.url}${fedAvgUploadPath(FEDAVG_JOB)}`, {
      method: 'POST',
      headers: {
        authorization: fedAvgCredential(nodeId, token),
        'content-type': 'application/octet-stream',
        [FEDAVG_SAMPLES_HEADER]: '1',
      },
      body: frame.buffer as ArrayBuffer,
    });
    const body = res.headers.get('content-type')?.includes('json')
      ? ((await res.json()) as { code: string; message: string })
      : null;
    return { status: res.status, code: body?.code, message: body?.message };
  };

  it('refuses forged, expired, replayed and borrowed tokens with a coded 401 or 403', async () => {
    const s = (server = await startGossipServer({ sessionTtlMs: 3_000, job: { expected: 1 } }));
    const [a, b] = [await s.volunteer(), await s.volunteer()];
    // The valid token goes through authentication (the round itself answers).
    expect((await upload(s, a.nodeId, a.token)).status).toBe(200);
    expect(await upload(s, a.nodeId, forged(a.token))).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    // A claimed id: b's own valid token for a's node id, and a's token under b's id.
    expect(await upload(s, a.nodeId, b.token)).toMatchObject({ status: 403, message: /another volunteer/ });
    expect(await upload(s, b.nodeId, a.token)).toMatchObject({ status: 403, message: /another volunteer/ });

    // Replayed: a resumes on a new connection; its earlier token was for the session that ended.
    a.socket.disconnect();
    const again = s.connect();
    const resumed = await request<JoinAccepted>(again, 'join', {
      protocolVersion: PROTOCOL_VERSION,
      capabilities,
      resume: { nodeId: a.nodeId, secret: a.secret },
    });
    if (!resumed.ok) throw new Error(resumed.message);
    expect(resumed.nodeId).toBe(a.nodeId);
    expect(resumed.peerjs.token).not.toBe(a.token);
    expect(await upload(s, a.nodeId, a.token)).toMatchObject({ status: 403, message: /ended session/ });
    s.job.counted.set(a.nodeId, 2_000);
    expect((await upload(s, a.nodeId, resumed.peerjs.token)).status).toBe(200);

    // Expired: the same token a little later (no heartbeat renewed it).
    await new Promise((r) => setTimeout(r, 3_100));
    expect(await upload(s, a.nodeId, resumed.peerjs.token)).toMatchObject({
      status: 401,
      code: 'UNAUTHORIZED',
      message: /expired/,
    });
    again.disconnect();
  });
});

describe('sessions in the membership', () => {
  it('a new session at every join and resume; none once the volunteer is gone', () => {
    const dir = tempDir();
    const store = openStore(dir);
    try {
      const clock = { now: 1_000_000 };
      const membership = new Membership(
        store,
        10_000,
        () => clock.now,
        undefined,
        new SessionTokens(3_600_000, () => clock.now),
      );
      const { node, secret } = membership.join(capabilities);
      const first = membership.sessionToken(node.id).token;
      expect(membership.verifySession(node.id, first).ok).toBe(true);
      // Renewal within the session: both the old and the new token count until they expire.
      const renewed = membership.sessionToken(node.id).token;
      expect(membership.verifySession(node.id, renewed).ok).toBe(true);
      expect(membership.verifySession(node.id, first).ok).toBe(true);
      membership.join(capabilities, { nodeId: node.id, secret });
      expect(membership.verifySession(node.id, renewed)).toMatchObject({
        ok: false,
        message: /ended session/,
      });
      const current = membership.sessionToken(node.id).token;
      expect(membership.verifySession(node.id, current).ok).toBe(true);
      // Silent past the heartbeat timeout: gone, and its unexpired token with it.
      clock.now += 10_001;
      membership.sweep();
      expect(membership.verifySession(node.id, current)).toMatchObject({
        ok: false,
        message: /not a member/,
      });
      expect(() => membership.sessionToken(node.id)).toThrow(/no session/);
      // It heartbeats again on the connection it joined on: a new session (its answer carries the
      // token); the earlier one's token stays refused.
      membership.heartbeat(node.id, { state: 'idle', uptimeS: 1 });
      expect(membership.verifySession(node.id, membership.sessionToken(node.id).token).ok).toBe(true);
      expect(membership.verifySession(node.id, current)).toMatchObject({
        ok: false,
        message: /ended session/,
      });
    } finally {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('session tokens on the coordinator', () => {
  const track = closedAfterEach<RunningServer>();

  const register = async (url: string, id: string, token: string): Promise<'open' | number> => {
    const outcome = await openPeerSocket(url, id, token);
    return outcome.status === 'message' ? 'open' : outcome.code;
  };

  it('heartbeats renew the token past half its life; PeerJS registration takes only a current one', async () => {
    const running = track(
      await startServer({ heartbeatIntervalMs: 250, heartbeatTimeoutMs: 20_000, sessionTtlMs: 4_000 }),
    );
    const volunteer = running.volunteer();
    const accepted = await joinVolunteer(volunteer);
    const beat = () =>
      request<{ serverTime: number; sessionToken?: string }>(volunteer, 'heartbeat', {
        state: 'idle',
        uptimeS: 1,
      });
    // Early in its life: no renewal.
    expect(await beat()).not.toHaveProperty('sessionToken');
    await new Promise((r) => setTimeout(r, 2_100));
    const renewed = await beat();
    if (!renewed.ok) throw new Error(renewed.message);
    expect(renewed.sessionToken).toEqual(expect.any(String));
    const token = renewed.sessionToken ?? '';
    expect(await beat()).not.toHaveProperty('sessionToken'); // renewed once, not on every beat

    // Past the first token's expiry: it is refused, the renewed one registers.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await register(running.url, accepted.nodeId, accepted.peerjs.token)).toBe(403);
    expect(await register(running.url, accepted.nodeId, forged(token))).toBe(403);
    expect(await register(running.url, accepted.nodeId, token)).toBe('open');

    // A claimed peer id: another volunteer's valid token does not register this id.
    const other = await joinVolunteer(running.volunteer());
    expect(await register(running.url, accepted.nodeId, other.peerjs.token)).toBe(403);
  });

  it("a volunteer's session token opens no operator endpoint: 403, and nothing is created", async () => {
    const running = track(await startServer());
    const accepted = await joinVolunteer(running.volunteer());
    for (const credential of [
      accepted.peerjs.token,
      fedAvgCredential(accepted.nodeId, accepted.peerjs.token),
    ]) {
      const res = await fetch(`${running.url}/api/jobs`, {
        method: 'POST',
        headers: {
          authorization: credential.startsWith('Bearer ') ? credential : `Bearer ${credential}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ name: 'from a volunteer' }),
      });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe('FORBIDDEN');
    }
    const listed = (await (await fetch(`${running.url}/api/jobs`)).json()) as { jobs: unknown[] };
    expect(listed.jobs).toEqual([]);
  });

  it('a volunteer back from gone on its own connection gets its new session’s token in the heartbeat answer', async () => {
    // startServer's heartbeat timeout is 600 ms: silent for longer, the volunteer is marked gone.
    const running = track(await startServer({ sessionTtlMs: 60_000 }));
    const volunteer = running.volunteer();
    const accepted = await joinVolunteer(volunteer);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await register(running.url, accepted.nodeId, accepted.peerjs.token)).toBe(403);
    const back = await request<{ serverTime: number; sessionToken?: string }>(volunteer, 'heartbeat', {
      state: 'idle',
      uptimeS: 2,
    });
    if (!back.ok) throw new Error(back.message);
    expect(back.sessionToken).toEqual(expect.any(String));
    expect(await register(running.url, accepted.nodeId, back.sessionToken ?? '')).toBe('open');
  });

  it('refuses a session token lifetime too short for heartbeats to renew it', async () => {
    const { resolveConfig, ConfigError } = await import('./config.ts');
    expect(() => resolveConfig(['--session-ttl-s', '5', '--heartbeat-interval-ms', '2000'], {})).toThrow(
      ConfigError,
    );
    expect(resolveConfig(['--session-ttl-s', '900'], {}).sessionTtlMs).toBe(900_000);
    expect(() => resolveConfig(['--session-ttl-s', 'soon'], {})).toThrow(/integer/);
  });
});
