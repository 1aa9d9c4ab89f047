/**
 * Fuzzing below socket.io's client library (issue 16 part 6): raw socket.io packets over a raw
 * engine.io WebSocket to the /volunteer and /dashboard namespaces: every packet type, namespaces
 * that exist or not, ack ids, event names of the handlers and others (`__proto__`, numbers),
 * payloads of any JSON, broken JSON, binary placeholders without attachments. socket.io may close a
 * connection that sent a malformed packet (that is its protocol); otherwise a request right after
 * the fuzz packet is answered. Nothing is logged as a server error, no promise rejection goes
 * unhandled, and the heap after a GC stays within a bound.
 * Cases per namespace: TABSWARM_FUZZ_RUNS (default 200; see fuzzRuns).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DASHBOARD_REQUESTS, NAMESPACES, PROTOCOL_VERSION, VOLUNTEER_REQUESTS } from '@tabswarm/protocol';
import { fuzzRuns, guardUnhandled, heapAfterGc, startFuzzServer, type FuzzServer } from './fuzz-support.ts';
import { anyJson } from './zod-arbitrary.ts';

const RUNS = fuzzRuns(200);
const TIMEOUT = 60_000 + RUNS * 100;
const guard = guardUnhandled();

let running: FuzzServer;
let heapBefore = 0;

/** A raw engine.io connection that has joined one socket.io namespace. */
class RawSocket {
  readonly #ws: WebSocket;
  readonly #waiting = new Map<number, (text: string) => void>();
  closed = false;
  #nextId = 1_000_000;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data: Buffer, binary: boolean) => {
      if (binary) return;
      const text = data.toString();
      if (text === '2') ws.send('3'); // engine.io ping → pong
      const ack = /^43[^,[]*,?(\d+)\[/.exec(text);
      if (ack) this.#waiting.get(Number(ack[1]))?.(text);
    });
    ws.on('close', () => {
      this.closed = true;
      for (const resolve of this.#waiting.values()) resolve('closed');
    });
  }

  static async open(namespace: string): Promise<RawSocket> {
    const ws = new WebSocket(`${running.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const socket = new RawSocket(ws);
    const connected = new Promise<void>((resolve, reject) => {
      ws.on('message', (data: Buffer) => {
        const text = data.toString();
        if (text.startsWith('0'))
          ws.send(`40${namespace},${JSON.stringify({ protocolVersion: PROTOCOL_VERSION })}`);
        if (text.startsWith(`40${namespace},`)) resolve();
        if (text.startsWith(`44${namespace},`)) reject(new Error(text));
      });
      ws.once('error', reject);
    });
    await connected;
    return socket;
  }

  send(packet: string | Buffer): void {
    if (!this.closed) this.#ws.send(packet);
  }

  /** Sends a request with an ack id; resolves with the raw ack packet, or 'closed'. */
  request(namespace: string, event: string, payload: unknown): Promise<string> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      if (this.closed) {
        resolve('closed');
        return;
      }
      const timer = setTimeout(() => resolve('timeout'), 10_000);
      this.#waiting.set(id, (text) => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        resolve(text);
      });
      this.#ws.send(`42${namespace},${id}${JSON.stringify([event, payload])}`);
    });
  }

  close(): void {
    this.#ws.terminate();
  }
}

beforeAll(async () => {
  running = await startFuzzServer();
  heapBefore = await heapAfterGc();
}, 180_000);

afterAll(async () => {
  await running?.close();
});

function packets(namespace: string, events: readonly string[]): fc.Arbitrary<(string | Buffer)[]> {
  const nsp = fc.oneof(
    { weight: 6, arbitrary: fc.constant(namespace) },
    fc.constantFrom('', '/', '/nope', NAMESPACES.volunteer, NAMESPACES.dashboard, '/__proto__'),
  );
  const name = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...events) },
    fc.constantFrom(
      '__proto__',
      'constructor',
      'toString',
      'connect',
      'disconnect',
      'error',
      'newListener',
      '',
    ),
    fc.integer(),
    fc.constant(null),
  );
  const body = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(name, anyJson).map((args) => JSON.stringify(args)) },
    fc.tuple(name, anyJson, anyJson).map((args) => JSON.stringify(args)),
    fc.tuple(name, fc.nat({ max: 3 })).map(([n, num]) => JSON.stringify([n, { _placeholder: true, num }])),
    anyJson.map((v) => JSON.stringify(v) ?? ''),
    fc.constantFrom('', '[', '["heartbeat"', '{"a":1}', '[]', '[1]', 'null'),
  );
  const packet = fc
    .record({
      type: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom('2', '5') },
        fc.constantFrom('0', '1', '3', '4', '6', '7', '9', 'x'),
      ),
      attachments: fc.option(
        fc.nat({ max: 3 }).map((n) => `${n}-`),
        { freq: 3 },
      ),
      nsp,
      id: fc.option(fc.oneof(fc.nat().map(String), fc.constantFrom('-1', '99999999999999999999', '1e5')), {
        freq: 3,
      }),
      body,
    })
    .map(
      ({ type, attachments, nsp: n, id, body: b }) =>
        `4${type}${type === '5' || type === '6' ? (attachments ?? '1-') : ''}${n === '' || n === '/' ? '' : `${n},`}${id ?? ''}${b}`,
    );
  // Well-framed events of any name and arguments, which socket.io hands on to the handlers.
  const event = fc
    .tuple(fc.option(fc.nat({ max: 99_999 }), { freq: 2 }), fc.array(anyJson, { maxLength: 3 }), name)
    .map(([id, args, n]) => `42${namespace},${id ?? ''}${JSON.stringify([n, ...args])}`);
  return fc.array(
    fc.oneof(
      { weight: 12, arbitrary: event },
      { weight: 6, arbitrary: packet },
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
      fc.constantFrom('1', '2', '3', '5', '6', 'x', ''),
    ),
    { minLength: 1, maxLength: 3 },
  );
}

async function fuzzNamespace(
  namespace: string,
  events: readonly string[],
  probe: readonly [string, unknown],
): Promise<void> {
  let socket = await RawSocket.open(namespace);
  let closedByServer = 0;
  let leftNamespace = 0;
  const started = performance.now();
  await fc.assert(
    fc.asyncProperty(packets(namespace, events), async (sent) => {
      if (socket.closed) {
        closedByServer++;
        socket = await RawSocket.open(namespace);
      }
      for (const p of sent) socket.send(p);
      if (sent.some((p) => typeof p === 'string' && p.startsWith(`41${namespace},`))) {
        // The client left the namespace itself: socket.io answers nothing more on it, by design.
        leftNamespace++;
        socket.close();
        socket = await RawSocket.open(namespace);
        return;
      }
      // The connection still serves requests, or socket.io closed it over a malformed packet.
      const answer = await socket.request(namespace, probe[0], probe[1]);
      expect(answer === 'closed' || answer.includes('"ok":'), answer.slice(0, 300)).toBe(true);
      expect(running.takeErrors()).toEqual([]);
      expect(guard.problems).toEqual([]);
    }),
    { numRuns: RUNS },
  );
  socket.close();
  const ms = performance.now() - started;
  console.info(
    `fuzz raw packets ${namespace}: ${RUNS} cases in ${ms.toFixed(0)} ms (${(ms / RUNS).toFixed(2)} ms/case), connections closed by the server over malformed packets ${closedByServer}, namespace left by the client ${leftNamespace}`,
  );
}

describe('raw socket.io packet fuzz', () => {
  it(
    '/volunteer: malformed packets close the connection or are answered, never a crash',
    { timeout: TIMEOUT },
    async () => {
      await fuzzNamespace(NAMESPACES.volunteer, Object.keys(VOLUNTEER_REQUESTS), ['requestLease', {}]);
    },
  );

  it(
    '/dashboard: malformed packets close the connection or are answered, never a crash',
    { timeout: TIMEOUT },
    async () => {
      await fuzzNamespace(NAMESPACES.dashboard, Object.keys(DASHBOARD_REQUESTS), [
        'subscribe',
        { protocolVersion: PROTOCOL_VERSION },
      ]);
    },
  );

  it('leaves the heap within bounds', async () => {
    const heapAfter = await heapAfterGc();
    console.info(
      `fuzz raw packets heap: ${(heapBefore / 2 ** 20).toFixed(1)} MiB → ${(heapAfter / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(heapAfter - heapBefore).toBeLessThan(64 * 2 ** 20);
  });
});
