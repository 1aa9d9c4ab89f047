/**
 * The composition root: wires store, membership, socket.io, PeerJS signalling and HTTP routes
 * onto one HTTP server. `listen(0)` in tests, `listen(config.port)` in main.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as SocketServer } from 'socket.io';
import { NAMESPACES, PEERJS_PATH } from '@tabswarm/protocol';
import type { ServerConfig } from './config.ts';
import { attachDashboardNamespace, type DashboardNamespace } from './dashboard-namespace.ts';
import { createHttpApp } from './http-app.ts';
import { createLogger, type Logger } from './logger.ts';
import { Membership, type Clock } from './membership.ts';
import { createMetrics, type ServerMetrics } from './metrics.ts';
import { createPeerSignalling } from './peer-signalling.ts';
import { openStore, type Store } from './store/store.ts';
import { attachVolunteerNamespace, type VolunteerNamespace } from './volunteer-namespace.ts';

export interface TabswarmServer {
  readonly config: ServerConfig;
  readonly store: Store;
  readonly membership: Membership;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
  /** Starts listening; resolves with the base URL (http://host:port). */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export interface ServerDeps {
  readonly log?: Logger;
  readonly clock?: Clock;
}

export function createServer(config: ServerConfig, deps: ServerDeps = {}): TabswarmServer {
  const log = deps.log ?? createLogger(config.logLevel);
  const store = openStore(config.dataDir);
  const integrity = store.integrityCheck();
  if (integrity !== 'ok') log.error({ integrity }, 'SQLite integrity check failed');
  const metrics = createMetrics();
  const membership = new Membership(store, config.heartbeatTimeoutMs, deps.clock);
  metrics.volunteersActive.set(membership.activeCount());

  const httpServer = http.createServer();
  const app = createHttpApp(config, membership, metrics);
  const peers = createPeerSignalling(httpServer, (id, token) => membership.verifyPeerToken(id, token), log);
  app.use(PEERJS_PATH, peers.app);
  httpServer.on('request', app);

  const io = new SocketServer(httpServer, {
    maxHttpBufferSize: config.maxMessageBytes,
    // Upgrades for other paths (PeerJS) are routed below; engine.io must leave them alone.
    destroyUpgrade: false,
    serveClient: false,
  });
  httpServer.on('upgrade', (req, socket, head: Buffer) => {
    if (peers.handleUpgrade(req, socket, head)) return;
    if ((req.url ?? '').startsWith('/socket.io/')) return; // engine.io's own listener handles it
    socket.destroy();
  });

  const ctx = (namespace: string) => ({ namespace, metrics, log });
  attachVolunteerNamespace(
    io.of(NAMESPACES.volunteer) as VolunteerNamespace,
    membership,
    config,
    ctx('volunteer'),
  );
  attachDashboardNamespace(io.of(NAMESPACES.dashboard) as DashboardNamespace, membership, ctx('dashboard'));

  const sweepEvery = Math.max(50, Math.min(1000, Math.floor(config.heartbeatTimeoutMs / 4)));
  let sweeper: NodeJS.Timeout | undefined;

  return {
    config,
    store,
    membership,
    metrics,
    log,
    listen(port = config.port, host = config.host) {
      return new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          sweeper = setInterval(() => {
            for (const node of membership.sweep())
              log.info({ nodeId: node.id }, 'volunteer gone (heartbeat timeout)');
          }, sweepEvery);
          const address = httpServer.address() as AddressInfo;
          const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
          resolve(`http://${shownHost}:${address.port}`);
        });
      });
    },
    async close() {
      if (sweeper) clearInterval(sweeper);
      peers.close();
      await io.close();
      httpServer.closeAllConnections();
      if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      store.close();
    },
  };
}
