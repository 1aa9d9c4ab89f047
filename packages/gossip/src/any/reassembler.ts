/**
 * Puts chunked frames back together, per sending peer, under hard memory limits. Pure: no timers
 * and no I/O; time comes from an injected clock and the owner calls `sweep()` to expire stalled
 * transfers. Never throws on input: every problem becomes a typed ReceiveError and frees what the
 * transfer held.
 */
import { ALL_FRAME_CODECS, decodeFrame, type DecodedFrame } from '@tabswarm/protocol';
import {
  CHUNK_HEADER_BYTES,
  MAX_MESSAGE_BYTES_LIMIT,
  type ChunkMessage,
  type ReceiveErrorCode,
} from './chunk-codec.ts';

export interface ReassemblerOptions {
  /** Bytes one peer's unfinished transfers may hold at once. */
  readonly maxBytesPerPeer?: number;
  /** Bytes all peers' unfinished transfers may hold at once. */
  readonly maxBytesTotal?: number;
  /** Largest frame accepted from anyone. */
  readonly maxTransferBytes?: number;
  /** Largest chunk payload (and stride) accepted. */
  readonly maxChunkBytes?: number;
  /** A transfer with no new chunk for this long is dropped by `sweep()`. */
  readonly idleTimeoutMs?: number;
  /** How many finished or aborted transfer ids per peer are remembered, so late chunks are ignored. */
  readonly rememberClosed?: number;
  readonly now?: () => number;
}

export interface ReceivedFrame {
  readonly ok: true;
  readonly peerId: string;
  readonly transferId: number;
  readonly bytes: number;
  /** Decoded with its checksum verified. Its payload views memory the reassembler no longer holds. */
  readonly frame: DecodedFrame;
}

export interface ReceiveError {
  readonly ok: false;
  readonly peerId: string;
  readonly transferId: number | null;
  readonly code: ReceiveErrorCode;
  readonly message: string;
}

export type ReceiveEvent = ReceivedFrame | ReceiveError;

export const DEFAULT_REASSEMBLER_OPTIONS = {
  maxBytesPerPeer: 128 * 1024 * 1024,
  maxBytesTotal: 512 * 1024 * 1024,
  maxTransferBytes: 128 * 1024 * 1024,
  maxChunkBytes: MAX_MESSAGE_BYTES_LIMIT - CHUNK_HEADER_BYTES,
  idleTimeoutMs: 30_000,
  rememberClosed: 256,
} as const;

interface Transfer {
  readonly count: number;
  readonly totalBytes: number;
  readonly stride: number;
  readonly buffer: Uint8Array;
  readonly received: Uint8Array;
  receivedCount: number;
  lastActivity: number;
}

interface PeerState {
  readonly transfers: Map<number, Transfer>;
  heldBytes: number;
  /** Ids of transfers that completed or were aborted, oldest first. */
  readonly closed: number[];
  readonly closedSet: Set<number>;
}

export class Reassembler {
  readonly #options: Required<Omit<ReassemblerOptions, 'now'>>;
  readonly #now: () => number;
  readonly #peers = new Map<string, PeerState>();
  #heldTotal = 0;

  constructor(options: ReassemblerOptions = {}) {
    const { now, ...rest } = options;
    this.#options = { ...DEFAULT_REASSEMBLER_OPTIONS, ...rest };
    this.#now = now ?? (() => Date.now());
  }

  /** Bytes held for one peer's unfinished transfers, or for everyone's. */
  heldBytes(peerId?: string): number {
    if (peerId === undefined) return this.#heldTotal;
    return this.#peers.get(peerId)?.heldBytes ?? 0;
  }

  activeTransfers(peerId?: string): number {
    if (peerId !== undefined) return this.#peers.get(peerId)?.transfers.size ?? 0;
    let n = 0;
    for (const peer of this.#peers.values()) n += peer.transfers.size;
    return n;
  }

  /**
   * Takes one decoded chunk. Returns the finished frame, a typed error (the transfer is then
   * dropped), or null when the transfer needs more chunks or the chunk belongs to a closed transfer.
   */
  accept(peerId: string, chunk: ChunkMessage): ReceiveEvent | null {
    const peer = this.#peer(peerId);
    const { transferId } = chunk;
    if (peer.closedSet.has(transferId)) return null;
    const fail = (code: ReceiveErrorCode, message: string): ReceiveError => {
      this.#close(peer, transferId);
      return { ok: false, peerId, transferId, code, message };
    };
    const o = this.#options;
    if (chunk.stride > o.maxChunkBytes || chunk.payload.length > o.maxChunkBytes) {
      return fail(
        'CHUNK_TOO_LARGE',
        `chunk stride ${chunk.stride} exceeds the limit of ${o.maxChunkBytes} bytes`,
      );
    }

    let transfer = peer.transfers.get(transferId);
    if (transfer === undefined) {
      if (chunk.totalBytes > o.maxTransferBytes) {
        return fail(
          'TRANSFER_TOO_LARGE',
          `transfer of ${chunk.totalBytes} bytes exceeds the limit of ${o.maxTransferBytes}`,
        );
      }
      if (peer.heldBytes + chunk.totalBytes > o.maxBytesPerPeer) {
        return fail(
          'PEER_MEMORY_EXCEEDED',
          `peer would hold ${peer.heldBytes + chunk.totalBytes} bytes; the per-peer limit is ${o.maxBytesPerPeer}`,
        );
      }
      if (this.#heldTotal + chunk.totalBytes > o.maxBytesTotal) {
        return fail('PEER_MEMORY_EXCEEDED', `receiving would hold more than ${o.maxBytesTotal} bytes in all`);
      }
      transfer = {
        count: chunk.count,
        totalBytes: chunk.totalBytes,
        stride: chunk.stride,
        buffer: new Uint8Array(chunk.totalBytes),
        received: new Uint8Array(chunk.count),
        receivedCount: 0,
        lastActivity: this.#now(),
      };
      peer.transfers.set(transferId, transfer);
      peer.heldBytes += chunk.totalBytes;
      this.#heldTotal += chunk.totalBytes;
    } else if (
      chunk.count !== transfer.count ||
      chunk.totalBytes !== transfer.totalBytes ||
      chunk.stride !== transfer.stride
    ) {
      return fail(
        'CHUNK_INCONSISTENT',
        `chunk ${chunk.index} says ${chunk.count} chunks / ${chunk.totalBytes} bytes / stride ${chunk.stride}; ` +
          `the transfer began with ${transfer.count} / ${transfer.totalBytes} / ${transfer.stride}`,
      );
    }

    if (transfer.received[chunk.index] === 1) {
      return fail('CHUNK_DUPLICATE', `chunk ${chunk.index} of transfer ${transferId} arrived twice`);
    }
    const offset = chunk.index * transfer.stride;
    if (offset + chunk.payload.length > transfer.totalBytes) {
      // decodeMessage already checks this; kept so a hand-built ChunkMessage cannot write out of bounds.
      return fail('CHUNK_TOO_LARGE', `chunk ${chunk.index} runs past the end of the frame`);
    }
    transfer.buffer.set(chunk.payload, offset);
    transfer.received[chunk.index] = 1;
    transfer.receivedCount++;
    transfer.lastActivity = this.#now();
    if (transfer.receivedCount < transfer.count) return null;

    this.#close(peer, transferId);
    const decoded = decodeFrame(transfer.buffer, { maxBytes: o.maxTransferBytes, codecs: ALL_FRAME_CODECS });
    if (!decoded.ok) return { ok: false, peerId, transferId, code: decoded.code, message: decoded.message };
    return { ok: true, peerId, transferId, bytes: transfer.totalBytes, frame: decoded };
  }

  /** Drops transfers idle for longer than the timeout and reports each one. */
  sweep(): ReceiveError[] {
    const now = this.#now();
    const expired: ReceiveError[] = [];
    for (const [peerId, peer] of this.#peers) {
      for (const [transferId, transfer] of peer.transfers) {
        const idle = now - transfer.lastActivity;
        if (idle < this.#options.idleTimeoutMs) continue;
        this.#close(peer, transferId);
        expired.push({
          ok: false,
          peerId,
          transferId,
          code: 'TRANSFER_TIMEOUT',
          message: `transfer ${transferId} got ${transfer.receivedCount} of ${transfer.count} chunks, then nothing for ${idle} ms`,
        });
      }
    }
    return expired;
  }

  /**
   * Drops one transfer because the link reported it broken (a malformed chunk). Returns false if
   * it was already closed, so the caller reports each transfer at most once.
   */
  abort(peerId: string, transferId: number): boolean {
    const peer = this.#peer(peerId);
    if (peer.closedSet.has(transferId)) return false;
    this.#close(peer, transferId);
    return true;
  }

  /** Forgets a peer entirely (its connection closed): frees its partial transfers without reporting. */
  dropPeer(peerId: string): void {
    const peer = this.#peers.get(peerId);
    if (peer === undefined) return;
    this.#heldTotal -= peer.heldBytes;
    this.#peers.delete(peerId);
  }

  #peer(peerId: string): PeerState {
    let peer = this.#peers.get(peerId);
    if (peer === undefined) {
      peer = { transfers: new Map(), heldBytes: 0, closed: [], closedSet: new Set() };
      this.#peers.set(peerId, peer);
    }
    return peer;
  }

  #close(peer: PeerState, transferId: number): void {
    const transfer = peer.transfers.get(transferId);
    if (transfer !== undefined) {
      peer.transfers.delete(transferId);
      peer.heldBytes -= transfer.totalBytes;
      this.#heldTotal -= transfer.totalBytes;
    }
    if (!peer.closedSet.has(transferId)) {
      peer.closed.push(transferId);
      peer.closedSet.add(transferId);
      while (peer.closed.length > this.#options.rememberClosed) {
        const oldest = peer.closed.shift();
        if (oldest !== undefined) peer.closedSet.delete(oldest);
      }
    }
  }
}
