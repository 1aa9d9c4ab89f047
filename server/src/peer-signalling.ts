/**
 * PeerJS signalling on the coordinator's port. The `peer` package's WebSocket server would
 * answer 400 to every upgrade it does not own (breaking socket.io's websocket transport), so it
 * is created with `noServer` and this module routes upgrades by path itself. Only active members
 * presenting their node's PeerJS token may register, so one tab cannot take another's id.
 *
 * With several coordinators (connectCluster), a signalling message for a peer registered on
 * another coordinator is handed to the cluster, and one from the cluster is sent to the peer
 * registered here: the `peer` package's own routing only knows its process's clients.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type express from 'express';
import { ExpressPeerServer } from 'peer';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { PEERJS_KEY, PEERJS_PATH } from '@tabswarm/protocol';
import type { Logger } from './logger.ts';
import type { OriginVerdict } from './origin-policy.ts';

export interface PeerSignalling {
  /** Mount on the HTTP app at PEERJS_PATH. (`peer` ships Express 4 types; at run time it is an app.) */
  readonly app: express.RequestHandler;
  /** Handles an upgrade if it is for PeerJS; returns false when the path is not ours. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /**
   * Joins other coordinators' signalling: messages for peers not registered here go to `publish`;
   * returns the function that takes theirs.
   */
  connectCluster(publish: (message: SignalMessage) => void): (message: SignalMessage) => void;
  close(): void;
}

/** A PeerJS message between two peers (the WebRTC offer, answer, ICE candidates, or leave). */
export interface SignalMessage {
  readonly type: string;
  readonly src: string;
  readonly dst: string;
  readonly payload?: unknown;
}

/** What passes between coordinators: the messages one peer sends another. */
const FORWARDED_TYPES = new Set(['OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE']);
/** Forwarded messages per peer per second; the rest are dropped (a connection's handshake needs tens). */
const FORWARD_PER_SECOND = 100;
const MAX_PEER_ID = 64;

/**
 * What a message from peer `src` is: `drop` when its `dst` is not a peer id (the `peer` package
 * would queue it and later throw, uncaught, turning it into a string: a fuzz test found it), a
 * message another peer may receive (`send`: the sender is who registered this socket, whatever
 * the message claims), or `other` (left to the peer package: heartbeats, garbage it refuses).
 */
function screen(src: string, raw: RawData): 'drop' | 'other' | { send: SignalMessage } {
  let parsed: unknown;
  try {
    const bytes = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as Buffer);
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return 'other';
  }
  if (parsed === null || typeof parsed !== 'object') return 'other';
  const { type, dst, payload } = parsed as Record<string, unknown>;
  if (dst !== undefined && (typeof dst !== 'string' || dst.length === 0 || dst.length > MAX_PEER_ID))
    return 'drop';
  if (typeof type !== 'string' || !FORWARDED_TYPES.has(type) || typeof dst !== 'string') return 'other';
  return { send: { type, src, dst, payload } };
}

/** The WebSocket path PeerJS clients open: the mount path plus PeerJS's own "peerjs" segment. */
export const PEERJS_WS_PATH = `${PEERJS_PATH}/peerjs`;

export function createPeerSignalling(
  server: http.Server,
  authorize: (id: string, token: string) => boolean,
  log: Logger,
  checkOrigin: (req: http.IncomingMessage) => OriginVerdict = () => ({ ok: true }),
): PeerSignalling {
  let wss: WebSocketServer | undefined;
  const app = ExpressPeerServer(server, {
    path: '/',
    key: PEERJS_KEY,
    allow_discovery: false,
    concurrent_limit: 5000,
    createWebSocketServer: (options) => {
      wss = new WebSocketServer({
        noServer: true,
        path: options.path ?? PEERJS_WS_PATH,
        maxPayload: 64 * 1024,
      });
      return wss;
    },
  });
  app.on('error', (err: Error) => log.warn({ err }, 'peerjs error'));

  /** Peers registered here, by id. */
  const registered = new Map<string, WebSocket>();
  let publish: ((message: SignalMessage) => void) | null = null;
  const forwardedIn = new Map<WebSocket, { second: number; count: number }>();
  /** True when the message is not for the peer package: dropped, or handed to the cluster. */
  const intercept = (id: string, ws: WebSocket, raw: RawData): boolean => {
    const verdict = screen(id, raw);
    if (verdict === 'drop') return true;
    if (publish === null || verdict === 'other') return false;
    const message = verdict.send;
    if (registered.has(message.dst)) return false; // the peer package delivers it
    const second = Math.floor(Date.now() / 1000);
    const budget = forwardedIn.get(ws);
    if (budget === undefined || budget.second !== second) forwardedIn.set(ws, { second, count: 1 });
    else if (++budget.count > FORWARD_PER_SECOND) return true;
    publish(message);
    return true;
  };

  const reject = (socket: Duplex, status: string): void => {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };

  return {
    app,
    handleUpgrade(req, socket, head) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== PEERJS_WS_PATH) return false;
      if (!wss) {
        // ExpressPeerServer builds its socket server when mounted; before that there is none.
        reject(socket, '503 Service Unavailable');
        return true;
      }
      if (!checkOrigin(req).ok) {
        log.debug({ origin: req.headers.origin }, 'refused PeerJS registration from another origin');
        reject(socket, '403 Forbidden');
        return true;
      }
      const id = url.searchParams.get('id') ?? '';
      const token = url.searchParams.get('token') ?? '';
      if (!authorize(id, token)) {
        log.debug({ id }, 'refused PeerJS registration');
        reject(socket, '403 Forbidden');
        return true;
      }
      const server = wss;
      server.handleUpgrade(req, socket, head, (ws) => {
        registered.set(id, ws);
        // Messages are screened before the peer package sees them. One for a peer of another
        // coordinator must not reach it either: it would queue it for a peer it never sees and
        // answer the sender EXPIRE ("peer unavailable").
        const emit = ws.emit.bind(ws);
        ws.emit = (event: string | symbol, ...args: unknown[]): boolean =>
          event === 'message' && intercept(id, ws, args[0] as RawData) ? true : emit(event, ...args);
        ws.once('close', () => {
          if (registered.get(id) === ws) registered.delete(id);
          forwardedIn.delete(ws);
        });
        server.emit('connection', ws, req);
      });
      return true;
    },
    connectCluster(publishToCluster) {
      publish = publishToCluster;
      return (message) => {
        const ws = registered.get(message.dst);
        if (ws === undefined || ws.readyState !== WebSocket.OPEN) return;
        const { type, src, dst, payload } = message;
        ws.send(JSON.stringify({ type, src, dst, payload }));
      };
    },
    close() {
      if (!wss) return;
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}
