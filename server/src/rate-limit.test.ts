// Rate limits (issue 16 part 5): the token buckets, their bounded memory, the --rate-limits option,
// and the guards on a real coordinator — connections per address, events per session, HTTP writes
// per address — each refused with a code while the coordinator keeps serving everyone else.
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '@tabswarm/protocol';
import { ConfigError, resolveConfig } from './config.ts';
import { DEFAULT_RATE_LIMITS, KeyedRateLimiter, parseRateLimits, type RateLimits } from './rate-limit.ts';
import { api, connected, joinVolunteer, request, serversClosedAfterEach } from './test-support.ts';

describe('KeyedRateLimiter', () => {
  it('lets a burst through, then one per 1/perSecond, per key', () => {
    let now = 0;
    const limiter = new KeyedRateLimiter({ perSecond: 2, burst: 3 }, { now: () => now });
    expect([1, 2, 3].map(() => limiter.take('a'))).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(500); // the next token in 0.5 s
    expect(limiter.take('b')).toBe(0); // another key has its own bucket
    now = 499;
    expect(limiter.take('a')).toBeGreaterThan(0);
    now = 1_000;
    expect(limiter.take('a')).toBe(0);
    now = 100_000; // refills to the burst, never past it
    expect([1, 2, 3, 4].map(() => limiter.take('a') === 0)).toEqual([true, true, true, false]);
  });

  it('remembers at most maxKeys keys, forgetting the least recently used', () => {
    const limiter = new KeyedRateLimiter({ perSecond: 1, burst: 1 }, { maxKeys: 100, now: () => 0 });
    for (let i = 0; i < 10_000; i++) limiter.take(`address-${i}`);
    expect(limiter.size).toBe(100);
    limiter.take('address-9999'); // recently used: still limited
    expect(limiter.take('address-9999')).toBeGreaterThan(0);
    expect(limiter.take('address-0')).toBe(0); // forgotten: a full bucket again
  });
});

describe('--rate-limits', () => {
  it('takes off, default, or JSON overriding the defaults', () => {
    expect(parseRateLimits('off')).toEqual({ ok: true, limits: null });
    expect(parseRateLimits('default')).toEqual({ ok: true, limits: DEFAULT_RATE_LIMITS });
    const parsed = parseRateLimits('{"connectsPerIp":{"perSecond":5,"burst":100}}');
    expect(parsed).toEqual({
      ok: true,
      limits: { ...DEFAULT_RATE_LIMITS, connectsPerIp: { perSecond: 5, burst: 100 } },
    });
    expect(resolveConfig(['--rate-limits', 'off'], {}).rateLimits).toBeNull();
    expect(resolveConfig([], { TABSWARM_RATE_LIMITS: 'off' }).rateLimits).toBeNull();
    expect(resolveConfig([], {}).rateLimits).toEqual(DEFAULT_RATE_LIMITS);
  });

  it('refuses bad values with a message naming the field', () => {
    expect(() => resolveConfig(['--rate-limits', 'fast'], {})).toThrow(ConfigError);
    expect(() => resolveConfig(['--rate-limits', '{"connectsPerIp":{"perSecond":0,"burst":1}}'], {})).toThrow(
      /rate limits: connectsPerIp.perSecond/,
    );
    expect(() => resolveConfig(['--rate-limits', '{"everything":{"perSecond":1,"burst":1}}'], {})).toThrow(
      /rate limits/,
    );
  });
});

const tight = (overrides: Partial<RateLimits>): RateLimits => ({
  connectsPerIp: { perSecond: 1e6, burst: 1e7 },
  eventsPerSession: { perSecond: 1e6, burst: 1e7 },
  relayMessagesPerSession: { perSecond: 1e6, burst: 1e7 },
  httpWritesPerIp: { perSecond: 1e6, burst: 1e7 },
  ...overrides,
});

async function metric(url: string, limit: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`tabswarm_rate_limited_total{limit="${limit}"}`));
  return Number(line?.split(' ').at(-1) ?? 0);
}

describe('rate limits on a coordinator', () => {
  const start = serversClosedAfterEach();

  it('refuses connections from one address past its burst, coded, and counts them', async () => {
    const running = await start({ rateLimits: tight({ connectsPerIp: { perSecond: 0.001, burst: 3 } }) });
    const sockets = Array.from({ length: 5 }, () => running.volunteer());
    const outcomes = await Promise.all(
      sockets.map((s) =>
        connected(s).then(
          () => 'connected',
          (err: Error & { data?: { code?: string } }) => err.data?.code ?? err.message,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'connected')).toHaveLength(3);
    expect(outcomes.filter((o) => o === 'RATE_LIMITED')).toHaveLength(2);
    expect(await metric(running.url, 'connect')).toBe(2);
    // The coordinator serves the connections it took.
    const first = sockets.find((s) => s.connected);
    if (first === undefined) throw new Error('no socket connected');
    await joinVolunteer(first);
  });

  it('acks RATE_LIMITED to a session flooding events, handles nothing more of it, and serves other sessions', async () => {
    const running = await start({
      rateLimits: tight({ eventsPerSession: { perSecond: 0.001, burst: 10 } }),
    });
    const flooder = running.volunteer();
    await connected(flooder);
    await joinVolunteer(flooder); // 1 event
    const replies = await Promise.all(
      Array.from({ length: 50 }, () => request(flooder, 'heartbeat', { protocolVersion: PROTOCOL_VERSION })),
    );
    const codes = replies.map((r) => (r.ok ? 'ok' : r.code));
    expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(41);
    expect(codes.filter((c) => c !== 'RATE_LIMITED').length).toBe(9);
    const limited = replies.find((r) => !r.ok && r.code === 'RATE_LIMITED');
    expect(limited !== undefined && !limited.ok && limited.message).toMatch(/retry in \d+ ms/);
    expect(await metric(running.url, 'events')).toBe(41);

    const other = running.volunteer();
    await connected(other);
    await joinVolunteer(other);
    const reply = await request(other, 'requestLease', {});
    expect(reply.ok || reply.code !== 'RATE_LIMITED').toBe(true);
  });

  it('answers HTTP writes past the burst with 429 RATE_LIMITED and Retry-After, reads unaffected', async () => {
    const running = await start({ rateLimits: tight({ httpWritesPerIp: { perSecond: 0.001, burst: 2 } }) });
    const create = () => api(`${running.url}/api/jobs`, { body: { name: 'limited' } });
    expect((await create()).status).toBe(201);
    expect((await create()).status).toBe(201);
    const res = await fetch(`${running.url}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
      body: '{}',
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await res.json()).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
    const jobs = await api<{ jobs: unknown[] }>(`${running.url}/api/jobs`);
    expect(jobs.status).toBe(200);
    expect(jobs.body.jobs).toHaveLength(2); // the refused write changed nothing
  });

  it('with the limits off, the same floods all go through', async () => {
    const running = await start({ rateLimits: null });
    const flooder = running.volunteer();
    await connected(flooder);
    await joinVolunteer(flooder);
    const replies = await Promise.all(
      Array.from({ length: 50 }, () => request(flooder, 'heartbeat', { protocolVersion: PROTOCOL_VERSION })),
    );
    expect(replies.every((r) => r.ok || r.code !== 'RATE_LIMITED')).toBe(true);
    for (let i = 0; i < 5; i++)
      expect((await api(`${running.url}/api/jobs`, { body: { name: `j${i}` } })).status).toBe(201);
  });
});
