/**
 * PeerJS signalling on the coordinator's port. The `peer` package's WebSocket server would
 * answer 400 to every upgrade it does not own (breaking socket.io's websocket transport), so it
 * is created with `noServer` and this module routes upgrades by path itself. Only active members
 * presenting their node's PeerJS token may register, so one tab cannot take another's id.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type express from 'express';
import { ExpressPeerServer } from 'peer';
import { WebSocketServer } from 'ws';
import { PEERJS_KEY, PEERJS_PATH } from '@tabswarm/protocol';
import type { Logger } from './logger.ts';
import type { OriginVerdict } from './origin-policy.ts';

export interface PeerSignalling {
  /** Mount on the HTTP app at PEERJS_PATH. (`peer` ships Express 4 types; at run time it is an app.) */
  readonly app: express.RequestHandler;
  /** Handles an upgrade if it is for PeerJS; returns false when the path is not ours. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean;
  close(): void;
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
      server.handleUpgrade(req, socket, head, (ws) => server.emit('connection', ws, req));
      return true;
    },
    close() {
      if (!wss) return;
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}
