/**
 * Fuzzing every socket.io request the coordinator handles (issue 16 part 6): each event of the
 * /volunteer namespace (membership, leases, self-test, gossip reports, the relay) and of the
 * /dashboard namespace, on a real coordinator in-process, from a joined and an unjoined connection.
 * Payloads are shaped by the event's zod schema (right kinds within bounds, real ids the test holds,
 * with wrong kinds and hostile values mixed in) or arbitrary JSON. Every ack must be `{ ok: true }`
 * and match its ack schema, or a coded `{ ok: false, code, message }` that is not INTERNAL; a
 * rejected request leaves jobs, leases, checkpoints and volunteers as they were; nothing is logged as
 * a server error, no promise rejection goes unhandled, the server never drops a connection it had no
 * reason to, and the heap after a GC stays within a bound.
 * Cases per event: TABSWARM_FUZZ_RUNS (default 300; see fuzzRuns).
 */
import fc from 'fast-check';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DASHBOARD_REQUESTS,
  NAMESPACES,
  PROTOCOL_VERSION,
  VOLUNTEER_REQUESTS,
  type JoinAccepted,
  type LeaseGrantInfo,
} from '@tabswarm/protocol';
import { api, capabilities } from '../test-support.ts';
import {
  fuzzRuns,
  guardUnhandled,
  heapAfterGc,
  isCodedError,
  startFuzzServer,
  stateDifference,
  stateSnapshot,
  type FuzzServer,
} from './fuzz-support.ts';
import { payloadFor, type Hints } from './zod-arbitrary.ts';

const RUNS = fuzzRuns(300);
const TIMEOUT = 60_000 + RUNS * 100;
const guard = guardUnhandled();

let running: FuzzServer;
let jobId = '';
/** The volunteer the cases come from, a second one (relay target, exchange partner), and connections that have not joined. */
const sockets: { joined?: Socket; partner?: Socket; unjoined?: Socket; dashboard?: Socket } = {};
let me: JoinAccepted | undefined;
let partner: JoinAccepted | undefined;
let lease: LeaseGrantInfo | null = null;
/** Set when an accepted request may have ended the lease in hand (or a join moved the volunteers). */
let leaseStale = true;
let expectedDisconnects = 0;
let unexpectedDisconnects: string[] = [];
let heapBefore = 0;
let oversized = 0;

function connect(namespace: string): Promise<Socket> {
  const socket = io(`${running.url}${namespace}`, {
    transports: ['websocket'],
    auth: { protocolVersion: PROTOCOL_VERSION },
    reconnection: false,
    forceNew: true,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

async function ask(socket: Socket, event: string, payload: unknown, argCount = 1): Promise<unknown> {
  // Requests carry one payload; fuzz cases also send none, or more than one (the ack comes last).
  const args = argCount === 1 ? [payload] : Array.from({ length: argCount }, () => payload);
  return socket.timeout(10_000).emitWithAck(event, ...args) as Promise<unknown>;
}

async function join(socket: Socket): Promise<JoinAccepted> {
  const reply = (await ask(socket, 'join', { protocolVersion: PROTOCOL_VERSION, capabilities })) as {
    ok: boolean;
  } & JoinAccepted;
  if (!reply.ok) throw new Error(`join failed: ${JSON.stringify(reply)}`);
  return reply;
}

/** Reconnects whatever the server (or a resume) disconnected, and keeps a lease in hand. */
async function restore(): Promise<void> {
  const watch = (name: string, socket: Socket): Socket => {
    socket.on('disconnect', (reason) => {
      if (reason !== 'io client disconnect') unexpectedDisconnects.push(`${name}: ${reason}`);
    });
    return socket;
  };
  if (!sockets.joined?.connected) {
    sockets.joined = watch('joined', await connect(NAMESPACES.volunteer));
    me = await join(sockets.joined);
  }
  if (!sockets.partner?.connected) {
    sockets.partner = watch('partner', await connect(NAMESPACES.volunteer));
    partner = await join(sockets.partner);
  }
  if (!sockets.unjoined?.connected) sockets.unjoined = watch('unjoined', await connect(NAMESPACES.volunteer));
  if (!sockets.dashboard?.connected)
    sockets.dashboard = watch('dashboard', await connect(NAMESPACES.dashboard));
  if (leaseStale && !running.server.jobs.scheduler.activeLeases(jobId).some((l) => l.id === lease?.leaseId)) {
    const reply = (await ask(sockets.joined, 'requestLease', {})) as {
      ok: boolean;
      lease: LeaseGrantInfo | null;
    };
    lease = reply.ok ? reply.lease : null;
  }
  leaseStale = false;
}

/** Real values for keys that must be right to get past validation. */
const hints: Hints = {
  protocolVersion: fc.constant(PROTOCOL_VERSION),
  capabilities: fc.constant(capabilities),
  nodeId: fc.constant(null).map(() => partner?.nodeId ?? me?.nodeId),
  secret: fc.constant(null).map(() => partner?.secret),
  leaseId: fc.constant(null).map(() => lease?.leaseId),
  leases: fc.constant(null).map(() => (lease ? [lease.leaseId] : [])),
  to: fc.constant(null).map(() => partner?.nodeId),
  partner: fc.constant(null).map(() => partner?.nodeId),
  jobId: fc.constant(null).map(() => jobId),
  // A completion must report exactly the shard's samples.
  samples: fc.oneof(
    { weight: 3, arbitrary: fc.constant(null).map(() => (lease ? lease.end - lease.start : 0)) },
    fc.constantFrom(999, 0),
  ),
  data: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.uint8Array({ maxLength: 70_000 })),
};

beforeAll(async () => {
  running = await startFuzzServer();
  const created = await api<{ job: { id: string } }>(`${running.url}/api/jobs`, {
    body: { name: 'fuzz', training: { batchSize: 100, localSteps: 10, epochs: 1000 } },
  });
  expect(created.status).toBe(201);
  jobId = created.body.job.id;
  await running.server.checkpoints().idle();
  await restore();
  expect(lease).not.toBeNull();
  heapBefore = await heapAfterGc();
}, 180_000);

afterAll(async () => {
  for (const socket of Object.values(sockets)) socket?.disconnect();
  await running?.close();
});

const argCounts = fc.oneof({ weight: 20, arbitrary: fc.constant(1) }, fc.constantFrom(0, 2));

interface Outcome {
  readonly accepted: number;
  readonly rejected: Map<string, number>;
}

/** Runs `RUNS` generated payloads of one event; returns how many were accepted and the rejection codes. */
async function fuzzEvent(
  event: string,
  schemas: {
    readonly payload: Parameters<typeof payloadFor>[0];
    readonly ack: { safeParse(v: unknown): { success: boolean } };
  },
  pick: (which: number) => Socket | undefined,
): Promise<Outcome> {
  const rejected = new Map<string, number>();
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(
      payloadFor(schemas.payload, hints),
      fc.nat({ max: 9 }),
      argCounts,
      async (payload, which, argCount) => {
        await restore();
        const socket = pick(which);
        if (socket === undefined) throw new Error('no socket');
        const before = stateSnapshot(running.server);
        if (
          (JSON.stringify(payload)?.length ?? 0) * Math.max(1, argCount) >
          running.server.config.maxMessageBytes * 0.9
        ) {
          // Over (or at) the message size limit: socket.io closes the connection by design; no reply is due.
          oversized++;
          const closed = new Promise((resolve) => socket.once('disconnect', resolve));
          const replied = ask(socket, event, payload).catch(() => null);
          await Promise.race([closed, replied]);
          unexpectedDisconnects = [];
          leaseStale = true;
          expect(running.takeErrors()).toEqual([]);
          return;
        }
        const reply = (await ask(socket, event, payload, argCount)) as {
          ok?: unknown;
          code?: string;
          resumed?: boolean;
        };
        expect(running.takeErrors()).toEqual([]);
        if (reply.ok === true) {
          const { ok: _ok, ...body } = reply;
          expect(schemas.ack.safeParse(body).success, JSON.stringify(reply).slice(0, 500)).toBe(true);
          accepted++;
          leaseStale = true;
          // A resumed join moves the node to this connection and closes its old one, on purpose.
          if (event === 'join' && reply.resumed === true) expectedDisconnects++;
        } else {
          expect(isCodedError(reply), JSON.stringify(reply).slice(0, 500)).toBe(true);
          rejected.set(reply.code as string, (rejected.get(reply.code as string) ?? 0) + 1);
          expect(stateDifference(before, stateSnapshot(running.server))).toBeNull();
        }
        if (event === 'join' && reply.ok === true) {
          // That connection has joined now: start over with a fresh unjoined one (and the resumed node's).
          sockets.unjoined?.disconnect();
          delete sockets.unjoined;
          if (reply.resumed === true) {
            await new Promise((resolve) => setTimeout(resolve, 5));
            unexpectedDisconnects = unexpectedDisconnects.filter((d) => !d.endsWith('io server disconnect'));
          }
        }
        expect(unexpectedDisconnects).toEqual([]);
        expect(guard.problems).toEqual([]);
      },
    ),
    { numRuns: RUNS },
  );
  return { accepted, rejected };
}

describe('socket.io fuzz', () => {
  const volunteerEvents = Object.keys(VOLUNTEER_REQUESTS) as (keyof typeof VOLUNTEER_REQUESTS)[];
  for (const event of volunteerEvents) {
    it(
      `/volunteer ${event}: every reply valid or coded, rejections change nothing`,
      { timeout: TIMEOUT },
      async () => {
        const started = performance.now();
        const outcome = await fuzzEvent(event, VOLUNTEER_REQUESTS[event], (which) =>
          which < 8 ? sockets.joined : sockets.unjoined,
        );
        const ms = performance.now() - started;
        console.info(
          `fuzz /volunteer ${event}: ${RUNS} cases in ${ms.toFixed(0)} ms (${(ms / RUNS).toFixed(2)} ms/case), ` +
            `${outcome.accepted} accepted, rejected ${JSON.stringify(Object.fromEntries(outcome.rejected))}`,
        );
        // The generator reaches past validation as well as failing it.
        expect(outcome.rejected.size).toBeGreaterThan(0);
      },
    );
  }

  it('/dashboard subscribe: every reply valid or coded', { timeout: TIMEOUT }, async () => {
    const started = performance.now();
    const outcome = await fuzzEvent('subscribe', DASHBOARD_REQUESTS.subscribe, () => sockets.dashboard);
    const ms = performance.now() - started;
    console.info(
      `fuzz /dashboard subscribe: ${RUNS} cases in ${ms.toFixed(0)} ms, ${outcome.accepted} accepted, ` +
        `rejected ${JSON.stringify(Object.fromEntries(outcome.rejected))}`,
    );
    expect(outcome.accepted).toBeGreaterThan(0);
  });

  it('leaves no prototype polluted and the heap within bounds', async () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(guard.problems).toEqual([]);
    const heapAfter = await heapAfterGc();
    console.info(
      `fuzz socket heap: ${(heapBefore / 2 ** 20).toFixed(1)} MiB → ${(heapAfter / 2 ** 20).toFixed(1)} MiB; expected disconnects ${expectedDisconnects}, oversized messages ${oversized}`,
    );
    expect(heapAfter - heapBefore).toBeLessThan(64 * 2 ** 20);
  });
});
