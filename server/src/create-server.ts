/**
 * The composition root: wires store, membership, socket.io, PeerJS signalling and HTTP routes
 * onto one HTTP server. `listen(0)` in tests, `listen(config.port)` in main.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as SocketServer } from 'socket.io';
import { NAMESPACES, PEERJS_PATH } from '@tabswarm/protocol';
import type { ServerConfig } from './config.ts';
import { loadOperatorToken } from './auth.ts';
import { EventLog, logSchedulerEvents } from './event-log.ts';
import { creditRoutes, wireValidatedWork } from './validated-work.ts';
import { eventRoutes } from './event-routes.ts';
import { attachDashboardNamespace, type DashboardNamespace } from './dashboard-namespace.ts';
import { DatasetRegistry, datasetRoutes, evaluationSize } from './datasets/index.ts';
import { createGossipCoordinator, gossipJobs, type GossipCoordinator } from './gossip/index.ts';
import { EvaluationThread } from './checkpoints/evaluation-thread.ts';
import { Checkpointing } from './jobs/checkpointing.ts';
import { checkpointRoutes } from './jobs/checkpoint-routes.ts';
import { createRateGuards } from './rate-guards.ts';
import { JobService, type DatasetLookup } from './jobs/job-service.ts';
import { createCheckpointRepository } from './store/checkpoint-repository.ts';
import { jobRoutes } from './jobs/routes.ts';
import { trainingHealth } from './jobs/training-health-monitor.ts';
import { screeningSets } from './jobs/upload-screening.ts';
import { Scheduler } from './scheduler/scheduler.ts';
import { DEFAULT_LEASE_TIMING, type LeaseTiming } from './scheduler/types.ts';
import { createHttpApp } from './http-app.ts';
import { createLogger, type Logger } from './logger.ts';
import { Membership, type Clock } from './membership.ts';
import { SessionTokens } from './session-tokens.ts';
import { createMetrics, type ServerMetrics } from './metrics.ts';
import { checkRequestOrigin } from './origin-policy.ts';
import { createPeerSignalling, type SignalMessage } from './peer-signalling.ts';
import { openStore, type Store } from './store/store.ts';
import { createClusterAdapter } from './cluster-adapter.ts';
import { attachVolunteerNamespace, type VolunteerNamespace } from './volunteer-namespace.ts';

export interface TabswarmServer {
  readonly config: ServerConfig;
  readonly store: Store;
  readonly membership: Membership;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
  readonly jobs: JobService;
  readonly events: EventLog;
  readonly gossip: GossipCoordinator;
  checkpoints(): Checkpointing;
  readonly operatorToken: string;
  /** True when this start generated the operator token (main prints it once). */
  readonly operatorTokenCreated: boolean;
  /** Starts listening; resolves with the base URL (http://host:port). */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export interface ServerDeps {
  readonly log?: Logger;
  readonly clock?: Clock;
  readonly leaseTiming?: LeaseTiming;
}

/** How long requests in flight may take to finish once the coordinator closes. */
const CLOSE_GRACE_MS = 3_000;

export function createServer(config: ServerConfig, deps: ServerDeps = {}): TabswarmServer {
  const log = deps.log ?? createLogger(config.logLevel);
  const store = openStore(config.dataDir, { url: config.storeUrl });
  const integrity = store.integrityCheck();
  if (integrity !== 'ok') log.error({ integrity }, 'store integrity check failed');
  const metrics = createMetrics();
  const membership = new Membership(
    store,
    config.heartbeatTimeoutMs,
    deps.clock,
    undefined,
    new SessionTokens(config.sessionTtlMs, deps.clock),
  );
  metrics.volunteersActive.set(membership.activeCount());
  const operator = loadOperatorToken(config.dataDir, config.operatorToken);

  const scheduler = new Scheduler(store.db, deps.leaseTiming ?? DEFAULT_LEASE_TIMING, deps.clock);
  // On a shared store the active leases may be other coordinators' volunteers': they are left to
  // their deadlines (a volunteer whose coordinator died resumes on another and completes them).
  const requeued = store.shared ? 0 : scheduler.recover();
  if (requeued > 0) log.info({ requeued }, 're-queued leases outstanding at the last shutdown');
  const datasets = new DatasetRegistry(config.dataDir, { log });
  const datasetLookup: DatasetLookup = {
    async resolve(id) {
      const manifest = await datasets.resolve(id);
      return (
        manifest && {
          id: manifest.id,
          trainSize: manifest.trainSize,
          featureShape: manifest.featureShape,
          numClasses: manifest.numClasses,
          ...(manifest.labelShape !== undefined && { labelShape: manifest.labelShape }),
        }
      );
    },
  };
  const jobs = new JobService(scheduler, datasetLookup, metrics, log);
  const events = new EventLog();
  const repo = createCheckpointRepository(store.db);
  logSchedulerEvents(scheduler, events);
  wireValidatedWork(scheduler, membership, events, log, metrics);
  const testSets = new Map<string, ReturnType<DatasetRegistry['readSamples']>>();
  const testSet = (id: string): ReturnType<DatasetRegistry['readSamples']> => {
    let set = testSets.get(id);
    if (!set) {
      const manifest = datasets.get(id);
      if (!manifest) throw new Error(`dataset ${id} is missing`);
      set = datasets.readSamples(id, 'test', 0, evaluationSize(manifest));
      testSets.set(id, set);
    }
    return set;
  };
  const health = trainingHealth(scheduler, repo, testSet, { metrics, events, log, jobs }, deps.clock);
  // Checkpoint evaluations run in their own thread: the event loop keeps serving volunteers.
  const evaluationThread = new EvaluationThread();
  const checkpoints = new Checkpointing({
    evaluate: evaluationThread.evaluate,
    dataDir: config.dataDir,
    repo,
    scheduler,
    metrics,
    log,
    datasetShape: (id) => datasets.get(id),
    testSet,
    screeningSet: screeningSets(
      (id, start, end) => datasets.readSamples(id, 'train', start, end),
      (id) => {
        const manifest = datasets.get(id);
        if (!manifest) throw new Error(`dataset ${id} is missing`);
        return manifest.trainSize;
      },
    ),
    // Only volunteers connected here: their uploads come to this process, where the round is.
    pickContributors: (preferred, limit) => {
      const live = (id: string) => membership.isConnectedHere(id) && !scheduler.validation.isDistrusted(id);
      const chosen = preferred.filter(live);
      return chosen.slice(0, limit);
    },
    sendRequest: (nodeId, request, jobId) =>
      volunteers.send(nodeId, 'checkpointRequest', {
        jobId,
        requestId: request.requestId,
        uploadUrl: `/api/jobs/${jobId}/checkpoint-uploads/${request.requestId}`,
        token: request.token,
        deadline: request.deadline,
      }),
    onCheckpoint: (jobId, change) => {
      health.checkpoint(jobId, change);
      if (change.kind !== 'failed') jobs.changed(jobId);
    },
    events,
    sharedStore: store.shared,
    ...(deps.clock && { now: deps.clock }),
  });
  jobs.attachCheckpoints(checkpoints);
  jobs.attachHealth(health);
  const gossip = createGossipCoordinator({
    membership,
    channel: () => volunteers,
    jobs: gossipJobs(jobs, membership, () => checkpoints),
    ctx: { namespace: 'volunteer', metrics, log },
    onLinks: (links) => (io.of(NAMESPACES.dashboard) as DashboardNamespace).emit('linkUpdate', links),
    onConsensus: (point) => (io.of(NAMESPACES.dashboard) as DashboardNamespace).emit('consensus', point),
  });
  gossip.consensus.onPoint((point) => health.exchange(point.jobId, point.outcome));
  // A volunteer marked gone gives its shards back (a disconnect already did, unless it never closed).
  membership.onChange((node) => {
    if (node.status === 'gone') scheduler.releaseNode(node.id);
  });

  const guards = createRateGuards(config.rateLimits, metrics);
  const httpServer = http.createServer();
  // Node's default of 5 s closes idle keep-alive connections while clients still reuse them
  // (Node's fetch keeps one until 1 s before the advertised timeout; a coordinator whose event loop
  // a checkpoint evaluation held closes it late): a request then meets a reset connection, as the
  // swarm tests' clients did. At 65 s a connection must idle a minute first; it is also above the
  // usual proxies' idle timeout (60 s), as they advise for servers behind them.
  httpServer.keepAliveTimeout = 65_000;
  httpServer.headersTimeout = 66_000;
  const logError = (err: unknown): void => log.error({ err }, 'request failed');
  const app = createHttpApp(
    config,
    membership,
    metrics,
    [
      ['/api/jobs', jobRoutes(jobs, operator.token, logError)],
      ['/api/jobs/:jobId', checkpointRoutes(jobs, checkpoints, logError, config.dataDir)],
      ['/api/events', eventRoutes(events)],
      ['/api/credit', creditRoutes(scheduler, membership)],
      ['/api/jobs/:jobId', gossip.jobRouter],
      ['/api/gossip', gossip.router],
      [
        '/api/datasets',
        datasetRoutes(datasets, operator.token, { maxUploadBytes: config.datasetMaxUploadBytes }, log),
      ],
    ],
    operator.token,
    log,
    guards.httpWrites,
  );
  const peers = createPeerSignalling(
    httpServer,
    (id, token) => membership.verifySession(id, token).ok,
    log,
    (req) => checkRequestOrigin(req, config.allowedOrigins),
  );
  app.use(PEERJS_PATH, peers.app);
  httpServer.on('request', app);

  const io = new SocketServer(httpServer, {
    maxHttpBufferSize: config.maxMessageBytes,
    // Upgrades for other paths (PeerJS) are routed below; engine.io must leave them alone.
    destroyUpgrade: false,
    serveClient: false,
    // A page of another site may not open a socket here (origin-policy.ts); refused with 403.
    allowRequest: (req, callback) => {
      const verdict = checkRequestOrigin(req, config.allowedOrigins);
      if (!verdict.ok) log.debug({ origin: req.headers.origin }, 'refused socket.io connection');
      callback(verdict.ok ? null : verdict.reason, verdict.ok);
    },
  });
  const cluster = config.adapterUrl === undefined ? null : createClusterAdapter(config.adapterUrl, log);
  if (cluster !== null) {
    cluster.attach(io);
    // PeerJS signalling between volunteers registered on different coordinators.
    const deliver = peers.connectCluster((message) => io.serverSideEmit('peerSignal', message));
    io.on('peerSignal', (message: SignalMessage) => deliver(message));
  }
  httpServer.on('upgrade', (req, socket, head: Buffer) => {
    if (peers.handleUpgrade(req, socket, head)) return;
    if ((req.url ?? '').startsWith('/socket.io/')) return; // engine.io's own listener handles it
    socket.destroy();
  });

  const ctx = (namespace: string) => ({ namespace, metrics, log });
  // Rate limits first: a connection over its address's budget goes no further, and every event
  // of a session counts against its budget before any handler sees it.
  for (const name of [NAMESPACES.volunteer, NAMESPACES.dashboard]) {
    io.of(name).use(guards.connect);
    io.of(name).on('connection', guards.session);
  }
  const volunteers = attachVolunteerNamespace(
    io.of(NAMESPACES.volunteer) as VolunteerNamespace,
    membership,
    jobs,
    events,
    config,
    ctx('volunteer'),
  );
  // Gossip (relay, link and exchange reports) listens on the same namespace as a second handler.
  (io.of(NAMESPACES.volunteer) as VolunteerNamespace).on('connection', (socket) => gossip.attach(socket));
  const dashboards = attachDashboardNamespace(
    io.of(NAMESPACES.dashboard) as DashboardNamespace,
    membership,
    jobs,
    events,
    ctx('dashboard'),
  );
  jobs.setNotifier({
    leaseCancelled: (nodeId, leaseId, reason) =>
      volunteers.send(nodeId, 'leaseCancelled', { leaseId, reason }),
    jobChanged: (job) => dashboards.jobChanged(job),
  });

  const sweepEvery = Math.max(50, Math.min(1000, Math.floor(config.heartbeatTimeoutMs / 4)));
  let sweeper: NodeJS.Timeout | undefined;
  let leaseSweeper: NodeJS.Timeout | undefined;

  return {
    config,
    store,
    membership,
    metrics,
    log,
    jobs,
    events,
    gossip,
    operatorToken: operator.token,
    operatorTokenCreated: operator.created,
    checkpoints: () => checkpoints,
    async listen(port = config.port, host = config.host) {
      await cluster?.ready();
      await checkpoints.recover();
      health.checkAll();
      return new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          sweeper = setInterval(() => {
            for (const node of membership.sweep()) {
              log.info({ nodeId: node.id }, 'volunteer gone (heartbeat timeout)');
              events.add('gone', 'marked gone: no heartbeat within the timeout', {
                nodeId: node.id,
                level: 'warn',
              });
            }
          }, sweepEvery);
          leaseSweeper = setInterval(() => scheduler.expireOverdue(), config.leaseSweepMs);
          const address = httpServer.address() as AddressInfo;
          const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
          resolve(`http://${shownHost}:${address.port}`);
        });
      });
    },
    async close() {
      if (sweeper) clearInterval(sweeper);
      if (leaseSweeper) clearInterval(leaseSweeper);
      checkpoints.close();
      gossip.close();
      jobs.close();
      await checkpoints.idle();
      await evaluationThread.close();
      peers.close();
      // io.close() closes the HTTP server and waits for every connection to end: idle keep-alive
      // connections (kept 65 s) go now; requests in flight (a simulation's last figures) get a
      // grace to finish, then are cut (a download its client stopped reading would hold it).
      httpServer.closeIdleConnections();
      const cut = setTimeout(() => httpServer.closeAllConnections(), CLOSE_GRACE_MS);
      await io.close();
      await cluster?.close();
      clearTimeout(cut);
      httpServer.closeAllConnections();
      if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      store.close();
    },
  };
}
