/** socket.io middleware: refuse a connection whose client speaks another protocol version. */
import type { Socket } from 'socket.io';
import { PROTOCOL_VERSION } from '@tabswarm/protocol';

export function checkProtocolVersion(socket: Socket, next: (err?: Error) => void): void {
  const auth: unknown = socket.handshake.auth;
  const version =
    typeof auth === 'object' && auth !== null ? (auth as Record<string, unknown>).protocolVersion : undefined;
  if (version === PROTOCOL_VERSION) {
    next();
    return;
  }
  const error = new Error(
    `VERSION_MISMATCH: this coordinator speaks protocol ${PROTOCOL_VERSION}; the client sent ${JSON.stringify(version ?? null)}. Reload the page.`,
  );
  next(error);
}
