/**
 * Fuzzing PeerJS signalling on the coordinator's port (issue 16 part 6): the WebSocket upgrade with
 * any id, token, key and path, and, from a registered volunteer, any message (signalling messages of
 * every type with junk destinations and payloads, arbitrary JSON, broken text, binary). The upgrade
 * is refused with a status or accepted; a message never crashes the coordinator or is logged as a
 * server error, the signalling keeps serving (a message to oneself comes back after each case), no
 * promise rejection goes unhandled, and the heap after a GC stays within a bound.
 * Cases per target: TABSWARM_FUZZ_RUNS (default 150, the longest fuzz file of the suite; see fuzzRuns).
 */
import fc from 'fast-check';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { NAMESPACES, PEERJS_KEY, PROTOCOL_VERSION, type JoinAccepted } from '@tabswarm/protocol';
import { PEERJS_WS_PATH } from '../peer-signalling.ts';
import { capabilities } from '../test-support.ts';
import { fuzzRuns, guardUnhandled, heapAfterGc, startFuzzServer, type FuzzServer } from './fuzz-support.ts';
import { anyJson, hostile } from './zod-arbitrary.ts';

const RUNS = fuzzRuns(150);
// A case is an upgrade or a message round trip: about 0.3 s on a loaded 2-core machine.
const TIMEOUT = 60_000 + RUNS * 400;
const guard = guardUnhandled();

let running: FuzzServer;
let volunteerSocket: Socket | undefined;
let me: JoinAccepted | undefined;
let peer: WebSocket | undefined;
let heapBefore = 0;

function wsUrl(query: string): string {
  return `${running.url.replace('http', 'ws')}${PEERJS_WS_PATH}?${query}`;
}

/** Opens a signalling socket; resolves with the first message, or the refusal's status. */
function open(
  query: string,
): Promise<{ ws: WebSocket; first: string } | { status: number } | { closed: true }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(query));
    ws.once('message', (data: Buffer) => resolve({ ws, first: data.toString() }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.once('close', () => resolve({ closed: true }));
    ws.once('error', (error) =>
      /socket hang up|ECONNRESET/.test(error.message) ? resolve({ closed: true }) : reject(error),
    );
  });
}

async function registered(): Promise<WebSocket> {
  if (peer?.readyState === WebSocket.OPEN) return peer;
  const opened = await open(`key=${PEERJS_KEY}&id=${me?.nodeId}&token=${me?.peerjs.token}&version=1.5.5`);
  if (!('ws' in opened)) throw new Error(`registration refused: ${JSON.stringify(opened)}`);
  expect(JSON.parse(opened.first)).toMatchObject({ type: 'OPEN' });
  peer = opened.ws;
  return peer;
}

let barrier = 0;
/** A message to oneself: it comes back once everything sent before it has been handled. */
async function roundTrip(ws: WebSocket): Promise<boolean> {
  const tag = `sync-${++barrier}`;
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(false), 5_000);
    const onMessage = (data: Buffer): void => {
      if (data.toString().includes(tag)) done(true);
    };
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      resolve(ok);
    };
    const onClose = (): void => done(false);
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.send(JSON.stringify({ type: 'OFFER', dst: me?.nodeId, payload: tag }));
  });
}

beforeAll(async () => {
  running = await startFuzzServer();
  volunteerSocket = io(`${running.url}${NAMESPACES.volunteer}`, {
    transports: ['websocket'],
    auth: { protocolVersion: PROTOCOL_VERSION },
    reconnection: false,
    forceNew: true,
  });
  me = (await volunteerSocket
    .timeout(10_000)
    .emitWithAck('join', { protocolVersion: PROTOCOL_VERSION, capabilities })) as JoinAccepted;
  expect(await roundTrip(await registered())).toBe(true);
  heapBefore = await heapAfterGc();
}, 180_000);

afterAll(async () => {
  peer?.terminate();
  volunteerSocket?.disconnect();
  await running?.close();
});

const queryValue = fc.oneof(
  fc.constant(null).map(() => me?.nodeId ?? ''),
  fc.constant(null).map(() => me?.peerjs.token ?? ''),
  fc.constant(PEERJS_KEY),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', '%zz', '__proto__', 'x'.repeat(3000)),
);

const upgradeQuery = fc
  .tuple(
    fc.option(queryValue, { freq: 4 }),
    fc.option(queryValue, { freq: 4 }),
    fc.option(queryValue, { freq: 4 }),
    fc.option(fc.constantFrom('id=a&id=b', 'token[]=x', '__proto__=1'), { freq: 3 }),
  )
  .map(([key, id, token, extra]) =>
    [
      key === null ? null : `key=${encodeURIComponent(key)}`,
      id === null ? null : `id=${encodeURIComponent(id)}`,
      token === null ? null : `token=${encodeURIComponent(token)}`,
      extra,
    ]
      .filter((p) => p !== null)
      .join('&'),
  );

const TYPES = ['OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE', 'EXPIRE', 'HEARTBEAT', 'OPEN', 'ID-TAKEN', 'ERROR'];
const message = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record(
        {
          type: fc.oneof(fc.constantFrom(...TYPES), fc.string({ maxLength: 12 }), hostile),
          dst: fc.oneof(
            fc.constant(null).map(() => me?.nodeId),
            fc.stringMatching(/^v[0-9a-f]{16}$/),
            hostile,
          ),
          src: fc.oneof(fc.string({ maxLength: 20 }), hostile),
          payload: anyJson,
        },
        { requiredKeys: ['type'] },
      )
      .map((m) => JSON.stringify(m)),
  },
  anyJson.map((v) => JSON.stringify(v) ?? 'null'),
  fc.constantFrom('{', 'null', '1', '"x"', '[]', 'true', '{"type":null}', '{"__proto__":{"type":"OFFER"}}'),
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
);

describe('PeerJS signalling fuzz', () => {
  it(
    'upgrades with any key, id and token: refused with a status or registered, never a crash',
    { timeout: TIMEOUT },
    async () => {
      const outcomes = new Map<string, number>();
      const started = performance.now();
      await fc.assert(
        fc.asyncProperty(upgradeQuery, async (query) => {
          const opened = await open(query);
          const outcome = 'status' in opened ? String(opened.status) : 'ws' in opened ? 'opened' : 'closed';
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          if ('status' in opened) expect(opened.status).toBeLessThan(500);
          if ('ws' in opened) opened.ws.terminate();
          expect(running.takeErrors()).toEqual([]);
          expect(guard.problems).toEqual([]);
        }),
        { numRuns: RUNS },
      );
      const ms = performance.now() - started;
      console.info(
        `fuzz PeerJS upgrade: ${RUNS} cases in ${ms.toFixed(0)} ms, outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`,
      );
    },
  );

  it(
    'messages from a registered volunteer: never a crash or a server error, signalling keeps serving',
    { timeout: TIMEOUT },
    async () => {
      let reconnects = 0;
      const started = performance.now();
      await fc.assert(
        fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 3 }), async (messages) => {
          let ws = await registered();
          for (const m of messages) ws.send(m);
          if (!(await roundTrip(ws))) {
            // The connection went away (a LEAVE without a destination unregisters the sender): register again.
            // A registration with the same id from the upgrade cases may have taken over this one.
            reconnects++;
            peer?.terminate();
            peer = undefined;
            ws = await registered();
            expect(await roundTrip(ws)).toBe(true);
          }
          expect(running.takeErrors()).toEqual([]);
          expect(guard.problems).toEqual([]);
        }),
        { numRuns: RUNS },
      );
      const ms = performance.now() - started;
      console.info(
        `fuzz PeerJS messages: ${RUNS} cases in ${ms.toFixed(0)} ms (${(ms / RUNS).toFixed(2)} ms/case), re-registrations ${reconnects}`,
      );
    },
  );

  it(
    'drops a message whose destination is not a peer id: the peer package would queue it and throw when it expires',
    { timeout: 30_000 },
    async () => {
      const ws = await registered();
      // A fuzz run found it: turning this `dst` into a string throws, in the queue's expiry timer.
      ws.send(JSON.stringify({ type: 'OFFER', dst: { toString: 1, valueOf: 1 }, payload: 'x' }));
      ws.send(JSON.stringify({ type: 'CANDIDATE', dst: ['v0123456789abcdef'] }));
      // PeerJS expires queued messages after 5 s, checking every second.
      await new Promise((resolve) => setTimeout(resolve, 7_000));
      expect(await roundTrip(ws)).toBe(true);
      expect(running.takeErrors()).toEqual([]);
      expect(guard.problems).toEqual([]);
    },
  );

  it('leaves no prototype polluted and the heap within bounds', async () => {
    expect(({} as Record<string, unknown>).type).toBeUndefined();
    const heapAfter = await heapAfterGc();
    console.info(
      `fuzz PeerJS heap: ${(heapBefore / 2 ** 20).toFixed(1)} MiB → ${(heapAfter / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(heapAfter - heapBefore).toBeLessThan(64 * 2 ** 20);
  });
});
