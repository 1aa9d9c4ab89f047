/**
 * An in-memory MessageLink pair with a bandwidth model: sends queue up, `bufferedAmount` grows,
 * and a pump delivers a fixed number of bytes per tick. Used by unit tests and Node simulations.
 */
import type { MessageLink } from './link.ts';

export interface MemoryLinkOptions {
  /** Bytes delivered per tick in each direction. */
  readonly bytesPerTick?: number;
  readonly tickMs?: number;
  /**
   * Rewrites, drops (null) or multiplies (an array: delivered in its order) each message in
   * flight: fault injection (corruption, loss, duplication, reordering by holding one back).
   */
  readonly tamper?: (message: Uint8Array, from: string) => Uint8Array | null | readonly Uint8Array[];
}

class MemoryLink implements MessageLink {
  readonly peerId: string;
  readonly #localId: string;
  readonly #options: Required<Omit<MemoryLinkOptions, 'tamper'>> & Pick<MemoryLinkOptions, 'tamper'>;
  #open = true;
  #buffered = 0;
  #queue: Uint8Array[] = [];
  #pumping = false;
  #other: MemoryLink | null = null;
  readonly #messageHandlers = new Set<(data: unknown) => void>();
  readonly #closeHandlers = new Set<() => void>();
  readonly #drainWaiters = new Set<() => void>();

  constructor(localId: string, peerId: string, options: MemoryLinkOptions) {
    this.#localId = localId;
    this.peerId = peerId;
    this.#options = { bytesPerTick: 256 * 1024, tickMs: 0, ...options };
  }

  connect(other: MemoryLink): void {
    this.#other = other;
  }

  get open(): boolean {
    return this.#open;
  }

  get bufferedAmount(): number {
    return this.#buffered;
  }

  send(message: Uint8Array): void {
    if (!this.#open) throw new Error('link is closed');
    // Copy, as a real channel does: the sender may reuse its buffer.
    this.#queue.push(message.slice());
    this.#buffered += message.length;
    this.#schedulePump();
  }

  waitForDrain(lowWaterBytes: number, timeoutMs: number): Promise<boolean> {
    if (!this.#open) return Promise.resolve(false);
    if (this.#buffered <= lowWaterBytes) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!this.#open) finish(false);
        else if (this.#buffered <= lowWaterBytes) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (drained: boolean): void => {
        clearTimeout(timer);
        this.#drainWaiters.delete(check);
        resolve(drained);
      };
      this.#drainWaiters.add(check);
    });
  }

  onMessage(handler: (data: unknown) => void): () => void {
    this.#messageHandlers.add(handler);
    return () => this.#messageHandlers.delete(handler);
  }

  onClose(handler: () => void): () => void {
    this.#closeHandlers.add(handler);
    return () => this.#closeHandlers.delete(handler);
  }

  close(): void {
    if (!this.#open) return;
    this.#closeLocal();
    if (this.#other !== null) this.#other.#closeLocal();
  }

  #closeLocal(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#queue = [];
    this.#buffered = 0;
    for (const waiter of [...this.#drainWaiters]) waiter();
    for (const handler of [...this.#closeHandlers]) handler();
  }

  #schedulePump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    setTimeout(() => this.#pump(), this.#options.tickMs);
  }

  #pump(): void {
    this.#pumping = false;
    let budget = this.#options.bytesPerTick;
    while (this.#open && budget > 0 && this.#queue.length > 0) {
      const message = this.#queue.shift() as Uint8Array;
      this.#buffered -= message.length;
      budget -= message.length;
      const delivered = this.#options.tamper ? this.#options.tamper(message, this.#localId) : message;
      if (delivered === null || this.#other === null) continue;
      if (delivered instanceof Uint8Array) this.#other.#deliver(delivered);
      else for (const m of delivered) this.#other.#deliver(m);
    }
    for (const waiter of [...this.#drainWaiters]) waiter();
    if (this.#queue.length > 0) this.#schedulePump();
  }

  #deliver(message: Uint8Array): void {
    if (!this.#open) return;
    // Browsers hand binary data channel messages over as ArrayBuffers.
    const data = message.buffer.slice(message.byteOffset, message.byteOffset + message.byteLength);
    for (const handler of [...this.#messageHandlers]) handler(data);
  }
}

/** Two connected links: messages sent on one arrive on the other. */
export function createMemoryLinkPair(
  aId: string,
  bId: string,
  options: MemoryLinkOptions = {},
): [atA: MessageLink, atB: MessageLink] {
  const atA = new MemoryLink(aId, bId, options);
  const atB = new MemoryLink(bId, aId, options);
  atA.connect(atB);
  atB.connect(atA);
  return [atA, atB];
}
