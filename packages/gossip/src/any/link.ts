/**
 * The one thing the transport needs from a channel: ordered, reliable binary messages plus a view
 * of how much is queued. A PeerJS DataConnection is adapted to it in peerjs-link.ts; an in-memory
 * pair (memory-link.ts) stands in for it in tests and Node simulations.
 */
export interface MessageLink {
  /** The id of the peer at the other end. */
  readonly peerId: string;
  /** A WebRTC data channel ('direct', the default) or the coordinator's socket.io relay. */
  readonly kind?: 'direct' | 'relay';
  /** The largest message the channel takes (its negotiated maximum), when it knows one. */
  readonly maxMessageBytes?: number | undefined;
  readonly open: boolean;
  /** Bytes handed to `send` that the channel has not transmitted yet. */
  readonly bufferedAmount: number;
  /** Queues one message; throws if the channel cannot take it. */
  send(message: Uint8Array): void;
  /**
   * Resolves true once `bufferedAmount` is at or below `lowWaterBytes`, false if the link closes
   * or `timeoutMs` passes first.
   */
  waitForDrain(lowWaterBytes: number, timeoutMs: number): Promise<boolean>;
  /** Subscribes to incoming messages; returns the unsubscribe function. */
  onMessage(handler: (data: unknown) => void): () => void;
  /** Subscribes to the link closing (either side, any reason); returns the unsubscribe function. */
  onClose(handler: () => void): () => void;
  close(): void;
  /**
   * Browser links only: opens a second, pre-negotiated data channel on the same peer connection
   * (direct-channel.ts), which the caller must transfer to a worker in the same task — Chromium
   * allows a transfer only at creation. Null when the connection cannot open one.
   */
  openTransferableChannel?(): Transferable | null;
}
