/**
 * An in-memory MessageLink pair with a bandwidth model: sends queue up, `bufferedAmount` grows,
 * and a pump delivers a fixed number of bytes per tick. Used by unit tests and Node simulations.
 */
import { LinkBase } from './link-base.ts';
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
  /** While true, the link is cut: a close at one end does not reach the other (a killed tab says nothing). */
  readonly severed?: () => boolean;
}

class MemoryLink extends LinkBase implements MessageLink {
  readonly peerId: string;
  readonly #localId: string;
  readonly #options: Required<Omit<MemoryLinkOptions, 'tamper' | 'severed'>> &
    Pick<MemoryLinkOptions, 'tamper' | 'severed'>;
  #buffered = 0;
  #queue: Uint8Array[] = [];
  #pumping = false;
  #other: MemoryLink | null = null;

  constructor(localId: string, peerId: string, options: MemoryLinkOptions) {
    super();
    this.#localId = localId;
    this.peerId = peerId;
    this.#options = { bytesPerTick: 256 * 1024, tickMs: 0, ...options };
  }

  connect(other: MemoryLink): void {
    this.#other = other;
  }

  get bufferedAmount(): number {
    return this.#buffered;
  }

  send(message: Uint8Array): void {
    if (!this.open) throw new Error('link is closed');
    // Copy, as a real channel does: the sender may reuse its buffer.
    this.#queue.push(message.slice());
    this.#buffered += message.length;
    this.#schedulePump();
  }

  close(): void {
    if (!this.open) return;
    this.#closeLocal();
    if (this.#other !== null && this.#options.severed?.() !== true) this.#other.#closeLocal();
  }

  #closeLocal(): void {
    this.#queue = [];
    this.#buffered = 0;
    this.markClosed();
  }

  #schedulePump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    setTimeout(() => this.#pump(), this.#options.tickMs);
  }

  #pump(): void {
    this.#pumping = false;
    let budget = this.#options.bytesPerTick;
    while (this.open && budget > 0 && this.#queue.length > 0) {
      const message = this.#queue.shift() as Uint8Array;
      this.#buffered -= message.length;
      budget -= message.length;
      const delivered = this.#options.tamper ? this.#options.tamper(message, this.#localId) : message;
      if (delivered === null || this.#other === null) continue;
      if (delivered instanceof Uint8Array) this.#other.deliverCopy(delivered);
      else for (const m of delivered) this.#other.deliverCopy(m);
    }
    this.notifyDrained();
    if (this.#queue.length > 0) this.#schedulePump();
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
