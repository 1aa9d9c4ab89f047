/** Helpers for server tests: a real server on port 0 in a temporary data directory, and clients. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { io, type Socket } from 'socket.io-client';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import {
  NAMESPACES,
  PEERJS_KEY,
  PROTOCOL_VERSION,
  type Capabilities,
  type DashboardClientToServer,
  type DashboardServerToClient,
  type JoinAccepted,
  type Reply,
  type VolunteerClientToServer,
  type VolunteerServerToClient,
} from '@tabswarm/protocol';
import { DEFAULT_CONFIG, type ServerConfig } from './config.ts';
import { PEERJS_WS_PATH } from './peer-signalling.ts';
import { createServer, type ServerDeps, type TabswarmServer } from './create-server.ts';

export type VolunteerClient = Socket<VolunteerServerToClient, VolunteerClientToServer>;
export type DashboardClient = Socket<DashboardServerToClient, DashboardClientToServer>;

export const capabilities: Capabilities = {
  backend: 'webgpu',
  adapter: {
    vendor: 'google',
    architecture: 'swiftshader',
    device: '',
    description: 'test adapter',
    isFallbackAdapter: false,
    limits: { maxStorageBufferBindingSize: 134217728 },
  },
  fallbackReason: null,
  userAgent: 'vitest',
};

export const OPERATOR_TOKEN = 'test-operator-token-0123456789';

export interface ApiOptions {
  readonly method?: string;
  readonly body?: unknown;
  /** The operator token by default; null sends none. */
  readonly token?: string | null;
  readonly contentType?: string;
}

/** Calls the REST API; returns the status and the parsed JSON body. */
export async function api<T = Record<string, unknown>>(
  url: string,
  options: ApiOptions = {},
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? OPERATOR_TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const res = await fetch(url, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    ...(body !== undefined && { body }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tabswarm-test-'));
}

export interface RunningServer {
  readonly server: TabswarmServer;
  readonly url: string;
  readonly clients: Socket[];
  volunteer(auth?: object): VolunteerClient;
  dashboard(auth?: object): DashboardClient;
  close(): Promise<void>;
}

export async function startServer(
  overrides: Partial<ServerConfig> = {},
  deps: Omit<ServerDeps, 'log'> = {},
): Promise<RunningServer> {
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    dataDir: tempDir(),
    host: '127.0.0.1',
    heartbeatIntervalMs: 100,
    heartbeatTimeoutMs: 600,
    operatorToken: OPERATOR_TOKEN,
    // Tests flood one socket or address on purpose (fuzzers, caps): the limits are tested on their
    // own (rate-limit.test.ts) and with the defaults by the swarm and end-to-end tests.
    rateLimits: null,
    ...overrides,
  };
  const server = createServer(config, { ...deps, log: pino({ level: 'silent' }) });
  const url = await server.listen(0);
  const clients: Socket[] = [];
  const connect = <T extends Socket>(nsp: string, auth: object): T => {
    const socket = io(`${url}${nsp}`, {
      transports: ['websocket'],
      auth,
      reconnection: false,
      forceNew: true,
    });
    clients.push(socket);
    return socket as T;
  };
  return {
    server,
    url,
    clients,
    volunteer: (auth = { protocolVersion: PROTOCOL_VERSION }) =>
      connect<VolunteerClient>(NAMESPACES.volunteer, auth),
    dashboard: (auth = { protocolVersion: PROTOCOL_VERSION }) =>
      connect<DashboardClient>(NAMESPACES.dashboard, auth),
    async close() {
      for (const c of clients) c.disconnect();
      await server.close();
    },
  };
}

/** Emits an event with an ack and a timeout; resolves with the ack's reply. Sends anything, typed or not. */
export function request<R extends object = object>(
  socket: Socket,
  event: string,
  ...args: unknown[]
): Promise<Reply<R>> {
  return socket.timeout(5000).emitWithAck(event, ...args) as Promise<Reply<R>>;
}

export async function joinVolunteer(socket: VolunteerClient): Promise<JoinAccepted> {
  const reply = await request<JoinAccepted>(socket, 'join', {
    protocolVersion: PROTOCOL_VERSION,
    capabilities,
  });
  if (!reply.ok) throw new Error(`join failed: ${reply.code} ${reply.message}`);
  return reply;
}

export function connected(socket: Socket): Promise<void> {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
}

/**
 * Closes the servers a test started once it ends, whatever happened:
 * `const track = closedAfterEach<RunningServer>()`, then `const running = track(await startServer())`.
 */
export function closedAfterEach<T extends { close(): Promise<void> }>(): (server: T) => T {
  const open: T[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((server) => server.close()));
  });
  return (server) => {
    open.push(server);
    return server;
  };
}

/**
 * startServer for a file's tests, each server closed once its test ends, whatever happened:
 * `const start = serversClosedAfterEach()`, then `const running = await start(overrides)`.
 */
export function serversClosedAfterEach(): typeof startServer {
  const track = closedAfterEach<RunningServer>();
  return async (overrides, deps) => track(await startServer(overrides, deps));
}

/** The WebSocket URL a Peer opens to register `id` with the coordinator's PeerJS server. */
export const peerSocketUrl = (url: string, id: string, token: string): string =>
  `${url.replace('http', 'ws')}${PEERJS_WS_PATH}?key=${PEERJS_KEY}&id=${id}&token=${encodeURIComponent(token)}&version=1.5.5`;

/**
 * Registers `id` with the coordinator's PeerJS server presenting `token`, as a Peer does: the
 * server's first message (OPEN) when it is accepted, the HTTP status when the upgrade is refused.
 */
export function openPeerSocket(
  url: string,
  id: string,
  token: string,
): Promise<{ status: 'message'; data: string } | { status: 'rejected'; code: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(peerSocketUrl(url, id, token));
    ws.once('message', (data: Buffer) => {
      resolve({ status: 'message', data: data.toString() });
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => resolve({ status: 'rejected', code: res.statusCode ?? 0 }));
    ws.once('error', reject);
  });
}
