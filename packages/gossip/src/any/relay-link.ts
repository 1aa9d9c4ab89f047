/**
 * MessageLinks through the coordinator's socket.io relay, for peers no direct WebRTC link reaches.
 * One RelayHub per node owns every relay link: sends leave in order through one queue with a shared
 * in-flight window, so the coordinator's per-volunteer rate limit turns into back-pressure (the
 * coordinator acknowledges a message once it forwarded it) instead of dropped messages.
 */
import { RELAY_MAX_MESSAGE_BYTES } from '@tabswarm/protocol';
import type { RelayPort } from './coordinator-port.ts';
import { LinkBase } from './link-base.ts';
import type { MessageLink } from './link.ts';

export interface RelayHubOptions {
  /** Bytes sent but not yet acknowledged by the coordinator, across every relay link (default 512 KiB). */
  readonly maxInFlightBytes?: number;
  /** The largest chunk message relayed (default 64 KiB; the coordinator refuses larger ones). */
  readonly maxMessageBytes?: number;
}

interface Pending {
  readonly link: RelayLink;
  readonly data: Uint8Array;
}

/** Relay messages are chunk-wire messages: keep them within what the coordinator accepts. */
export const RELAY_CHUNK_BYTES = 64 * 1024;

class RelayLink extends LinkBase implements MessageLink {
  readonly kind = 'relay' as const;
  readonly peerId: string;
  readonly maxMessageBytes: number;
  readonly #hub: RelayHub;
  buffered = 0;

  constructor(peerId: string, hub: RelayHub, maxMessageBytes: number) {
    super();
    this.peerId = peerId;
    this.#hub = hub;
    this.maxMessageBytes = maxMessageBytes;
  }

  get bufferedAmount(): number {
    return this.buffered;
  }

  send(message: Uint8Array): void {
    if (!this.open) throw new Error(`relay link to ${this.peerId} is closed`);
    if (message.length > RELAY_MAX_MESSAGE_BYTES) throw new RangeError('message too large for the relay');
    this.buffered += message.length;
    this.#hub.enqueue({ link: this, data: message.slice() });
  }

  close(): void {
    if (!this.open) return;
    this.buffered = 0;
    this.#hub.forget(this);
    this.markClosed();
  }

  sent(bytes: number): void {
    this.buffered = Math.max(0, this.buffered - bytes);
    this.notifyDrained();
  }

  deliver(data: Uint8Array): void {
    this.deliverCopy(data);
  }
}

export class RelayHub {
  readonly #port: RelayPort;
  readonly #maxInFlight: number;
  readonly #maxMessageBytes: number;
  readonly #links = new Map<string, RelayLink>();
  readonly #incoming = new Set<(link: MessageLink) => void>();
  readonly #unsubscribe: () => void;
  #queue: Pending[] = [];
  #inFlight = 0;
  #closed = false;

  constructor(port: RelayPort, options: RelayHubOptions = {}) {
    this.#port = port;
    this.#maxInFlight = options.maxInFlightBytes ?? 512 * 1024;
    this.#maxMessageBytes = Math.min(options.maxMessageBytes ?? RELAY_CHUNK_BYTES, RELAY_MAX_MESSAGE_BYTES);
    this.#unsubscribe = port.onMessage((from, data) => this.#receive(from, data));
  }

  /** The open relay link to `peerId`, created if there is none. */
  link(peerId: string): MessageLink {
    if (this.#closed) throw new Error('relay hub is closed');
    let link = this.#links.get(peerId);
    if (link === undefined || !link.open) {
      link = new RelayLink(peerId, this, this.#maxMessageBytes);
      this.#links.set(peerId, link);
    }
    return link;
  }

  /** A peer reached this node through the relay with no open relay link: a new link for it. */
  onIncoming(handler: (link: MessageLink) => void): () => void {
    this.#incoming.add(handler);
    return () => this.#incoming.delete(handler);
  }

  get inFlightBytes(): number {
    return this.#inFlight;
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    for (const link of [...this.#links.values()]) link.close();
    this.#queue = [];
  }

  enqueue(pending: Pending): void {
    this.#queue.push(pending);
    this.#pump();
  }

  forget(link: RelayLink): void {
    if (this.#links.get(link.peerId) === link) this.#links.delete(link.peerId);
    this.#queue = this.#queue.filter((p) => p.link !== link);
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      const next = this.#queue[0] as Pending;
      if (this.#inFlight > 0 && this.#inFlight + next.data.length > this.#maxInFlight) return;
      this.#queue.shift();
      if (!next.link.open) continue;
      this.#inFlight += next.data.length;
      void this.#port.send(next.link.peerId, next.data).then((result) => {
        this.#inFlight -= next.data.length;
        next.link.sent(next.data.length);
        // A refused message breaks the transfer it belongs to: close the link so it fails fast.
        if (!result.ok) next.link.close();
        this.#pump();
      });
    }
  }

  #receive(from: string, data: Uint8Array): void {
    if (this.#closed) return;
    let link = this.#links.get(from);
    if (link === undefined || !link.open) {
      link = new RelayLink(from, this, this.#maxMessageBytes);
      this.#links.set(from, link);
      for (const handler of [...this.#incoming]) handler(link);
    }
    link.deliver(data);
  }
}
