/**
 * The socket.io relay: forwards chunk-wire messages between volunteers that cannot make a direct
 * WebRTC link. Each sender is paced by a token bucket (bytes/s with a burst): a message beyond its
 * tokens is held until they accrue, and acknowledged once forwarded, so a well-behaved client (which
 * waits for acks, see packages/gossip relay-link.ts) sees back-pressure rather than loss. A sender
 * that keeps pushing past its queue cap has messages refused. Messages are forwarded in order.
 */
import { errorReply, type Reply } from '@tabswarm/protocol';
import type { GossipMetrics } from './metrics.ts';

export interface RelayOptions {
  /** Sustained rate per sender. */
  readonly bytesPerSec: number;
  /** Bytes a sender may send at once after being idle. */
  readonly burstBytes: number;
  /** Bytes a sender may have waiting for tokens; beyond this, messages are refused. */
  readonly maxQueuedBytes: number;
}

export const DEFAULT_RELAY_OPTIONS: RelayOptions = {
  bytesPerSec: 4 * 1024 * 1024,
  burstBytes: 1024 * 1024,
  maxQueuedBytes: 2 * 1024 * 1024,
};

export interface RelayDeps {
  /** Whether `nodeId` is an active member (a relay target must be). */
  readonly isActive: (nodeId: string) => boolean;
  /** Delivers to the recipient's socket; false when it is not connected. */
  readonly deliver: (to: string, from: string, data: Uint8Array) => boolean;
  readonly metrics?: GossipMetrics;
  readonly now?: () => number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
  queuedBytes: number;
}

export class RelayService {
  readonly #deps: RelayDeps;
  readonly #options: RelayOptions;
  readonly #buckets = new Map<string, Bucket>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #now: () => number;

  constructor(deps: RelayDeps, options: Partial<RelayOptions> = {}) {
    this.#deps = deps;
    this.#options = { ...DEFAULT_RELAY_OPTIONS, ...options };
    this.#now = deps.now ?? Date.now;
  }

  /** Forwards one message from a joined sender; resolves (the ack) once it was forwarded or refused. */
  relay(from: string, to: string, data: Uint8Array): Promise<Reply<{ queuedMs: number }>> {
    const refuse = (code: Parameters<typeof errorReply>[0], message: string, outcome: string = code) => {
      this.#deps.metrics?.relayMessages.inc({ outcome });
      return Promise.resolve(errorReply(code, message));
    };
    if (to === from) return refuse('BAD_REQUEST', 'a node cannot relay to itself');
    if (!this.#deps.isActive(to)) return refuse('UNKNOWN_NODE', `${to} is not an active volunteer`);
    const bucket = this.#bucket(from);
    const size = data.byteLength;
    const o = this.#options;
    if (bucket.tokens < size && bucket.queuedBytes + size > o.maxQueuedBytes) {
      return refuse(
        'PAYLOAD_TOO_LARGE',
        `relay rate exceeded: more than ${o.maxQueuedBytes} bytes waiting at ${o.bytesPerSec} bytes/s; wait for acknowledgements`,
        'RATE_LIMITED',
      );
    }
    bucket.tokens -= size;
    const waitMs = bucket.tokens >= 0 ? 0 : Math.ceil((-bucket.tokens / o.bytesPerSec) * 1000);
    if (waitMs === 0) return Promise.resolve(this.#forward(from, to, data, 0));
    bucket.queuedBytes += size;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        bucket.queuedBytes -= size;
        resolve(this.#forward(from, to, data, waitMs));
      }, waitMs);
      this.#timers.add(timer);
    });
  }

  /** A volunteer left: forget its bucket. */
  forget(nodeId: string): void {
    this.#buckets.delete(nodeId);
  }

  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #forward(from: string, to: string, data: Uint8Array, queuedMs: number): Reply<{ queuedMs: number }> {
    if (!this.#deps.isActive(to) || !this.#deps.deliver(to, from, data)) {
      this.#deps.metrics?.relayMessages.inc({ outcome: 'UNKNOWN_NODE' });
      return errorReply('UNKNOWN_NODE', `${to} is not connected`);
    }
    this.#deps.metrics?.relayMessages.inc({ outcome: 'forwarded' });
    this.#deps.metrics?.relayBytes.inc(data.byteLength);
    return { ok: true, queuedMs };
  }

  #bucket(nodeId: string): Bucket {
    const now = this.#now();
    let bucket = this.#buckets.get(nodeId);
    if (bucket === undefined) {
      bucket = { tokens: this.#options.burstBytes, updatedAt: now, queuedBytes: 0 };
      this.#buckets.set(nodeId, bucket);
    } else {
      const refill = ((now - bucket.updatedAt) / 1000) * this.#options.bytesPerSec;
      bucket.tokens = Math.min(this.#options.burstBytes, bucket.tokens + refill);
      bucket.updatedAt = now;
    }
    return bucket;
  }
}
