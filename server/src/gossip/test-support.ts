/**
 * For gossip server tests: the coordinator's real volunteer namespace (join, membership, peers),
 * store, socket.io and HTTP, with the gossip coordinator attached the way create-server.ts wires
 * it, on port 0. Jobs are stubbed through GossipJobs so FedAvg can be driven without datasets.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { Server as SocketServer } from 'socket.io';
import { io } from 'socket.io-client';
import { NAMESPACES, PROTOCOL_VERSION } from '@tabswarm/protocol';
import { DEFAULT_CONFIG, type ServerConfig } from '../config.ts';
import { EventLog } from '../event-log.ts';
import { JobService } from '../jobs/job-service.ts';
import { Membership } from '../membership.ts';
import { SessionTokens } from '../session-tokens.ts';
import { createMetrics } from '../metrics.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { DEFAULT_LEASE_TIMING } from '../scheduler/types.ts';
import { openStore } from '../store/store.ts';
import { joinVolunteer, tempDir, type VolunteerClient } from '../test-support.ts';
import { attachVolunteerNamespace, type VolunteerNamespace } from '../volunteer-namespace.ts';
import {
  createGossipCoordinator,
  type GossipCoordinator,
  type GossipCoordinatorDeps,
  type GossipJobs,
} from './index.ts';
import type { FedAvgJob } from './fedavg.ts';

export const FEDAVG_JOB = 'job-0123456789ab';

export interface StubJob {
  parameterCount: number;
  averaging: FedAvgJob['averaging'];
  running: boolean;
  expected: number;
  /** Samples the coordinator counted for each volunteer on the job (its counted completions). */
  counted: Map<string, number>;
  /** The latest checkpoint's parameters: what the first round is measured from (null: none). */
  reference: Float32Array | null;
  /** Volunteers outvoted by validated work. */
  distrusted: Set<string>;
  /** The loss screen's score of one upload (the coordinator's evaluation, stood in for); absent: none. */
  loss?: (values: Float32Array) => number;
}

export interface GossipTestServer {
  readonly url: string;
  readonly membership: Membership;
  readonly gossip: GossipCoordinator;
  readonly job: StubJob;
  /**
   * A volunteer that joined; its node id and session token. Unless `counted` is given, the
   * coordinator is made to have counted 1,000 samples of its work on the job.
   */
  volunteer(
    counted?: number,
  ): Promise<{ socket: VolunteerClient; nodeId: string; token: string; secret: string }>;
  /** A volunteer connection that has not joined (closed with the server). */
  connect(): VolunteerClient;
  close(): Promise<void>;
}

export async function startGossipServer(
  options: {
    relay?: GossipCoordinatorDeps['relay'];
    job?: Partial<StubJob>;
    /** Session tokens' lifetime (default: the coordinator's). */
    sessionTtlMs?: number;
  } = {},
): Promise<GossipTestServer> {
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    dataDir: tempDir(),
    host: '127.0.0.1',
    heartbeatTimeoutMs: 10_000,
  };
  const log = pino({ level: 'silent' });
  const store = openStore(config.dataDir);
  const metrics = createMetrics();
  const membership = new Membership(
    store,
    config.heartbeatTimeoutMs,
    Date.now,
    undefined,
    new SessionTokens(options.sessionTtlMs ?? config.sessionTtlMs),
  );
  const scheduler = new Scheduler(store.db, DEFAULT_LEASE_TIMING);
  const jobs = new JobService(scheduler, { resolve: () => Promise.resolve(undefined) }, metrics, log);
  const job: StubJob = {
    parameterCount: 1000,
    averaging: { mode: 'fedavg', roundDeadlineMs: 2_000, quorum: 0.5, maxNormRatio: 10 },
    running: true,
    expected: 2,
    counted: new Map(),
    reference: null,
    distrusted: new Set(),
    ...options.job,
  };
  const stubJobs: GossipJobs = {
    exists: (id) => id === FEDAVG_JOB,
    fedAvgJob: (id) => (id === FEDAVG_JOB ? job : undefined),
    expectedParticipants: () => job.expected,
    referenceValues: () => Promise.resolve(job.reference),
    countedSamples: (jobId, nodeId) => (jobId === FEDAVG_JOB ? (job.counted.get(nodeId) ?? 0) : 0),
    distrusted: (nodeId) => job.distrusted.has(nodeId),
    screeningLosses: (_jobId, rule, uploads) => {
      const { loss } = job;
      return Promise.resolve(rule.lossScreenSamples > 0 && loss ? uploads.map(loss) : undefined);
    },
  };
  const httpServer = http.createServer();
  const socketServer = new SocketServer(httpServer, {
    maxHttpBufferSize: config.maxMessageBytes,
    serveClient: false,
  });
  const ctx = { namespace: 'volunteer', metrics, log };
  const nsp = socketServer.of(NAMESPACES.volunteer) as VolunteerNamespace;
  const channel = attachVolunteerNamespace(nsp, membership, jobs, new EventLog(), config, ctx);
  const gossip = createGossipCoordinator({
    membership,
    channel: () => channel,
    jobs: stubJobs,
    ctx,
    ...(options.relay && { relay: options.relay }),
  });
  nsp.on('connection', (socket) => gossip.attach(socket));
  const app = express();
  app.use('/api/jobs/:jobId', gossip.jobRouter);
  app.use('/api/gossip', gossip.router);
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  httpServer.on('request', app);
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  const sockets: VolunteerClient[] = [];
  const connect = (): VolunteerClient => {
    const socket: VolunteerClient = io(`${url}${NAMESPACES.volunteer}`, {
      transports: ['websocket'],
      auth: { protocolVersion: PROTOCOL_VERSION },
      reconnection: false,
      forceNew: true,
    });
    sockets.push(socket);
    return socket;
  };
  return {
    url,
    membership,
    gossip,
    job,
    connect,
    async volunteer(counted = 1000) {
      const socket = connect();
      const accepted = await joinVolunteer(socket);
      if (counted > 0) job.counted.set(accepted.nodeId, counted);
      return { socket, nodeId: accepted.nodeId, token: accepted.peerjs.token, secret: accepted.secret };
    },
    async close() {
      for (const s of sockets) s.disconnect();
      gossip.close();
      await socketServer.close();
      httpServer.closeAllConnections();
      if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      store.close();
    },
  };
}
