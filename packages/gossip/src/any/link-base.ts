/**
 * What the in-process MessageLinks (memory pairs, the coordinator relay) share: subscribers, drain
 * waiters and the close sequence. A subclass says how much is queued and how messages leave.
 */
export abstract class LinkBase {
  abstract readonly peerId: string;
  abstract readonly bufferedAmount: number;
  #open = true;
  readonly #messageHandlers = new Set<(data: unknown) => void>();
  readonly #closeHandlers = new Set<() => void>();
  readonly #drainWaiters = new Set<() => void>();

  get open(): boolean {
    return this.#open;
  }

  waitForDrain(lowWaterBytes: number, timeoutMs: number): Promise<boolean> {
    if (!this.#open) return Promise.resolve(false);
    if (this.bufferedAmount <= lowWaterBytes) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!this.#open) finish(false);
        else if (this.bufferedAmount <= lowWaterBytes) finish(true);
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

  /** Wakes the drain waiters: call when `bufferedAmount` went down. */
  protected notifyDrained(): void {
    for (const waiter of [...this.#drainWaiters]) waiter();
  }

  /** Hands a message to the subscribers as an ArrayBuffer copy, as a browser data channel does. */
  protected deliverCopy(message: Uint8Array): void {
    this.deliverOwned(message.buffer.slice(message.byteOffset, message.byteOffset + message.byteLength));
  }

  /** Hands a message this link owns to the subscribers as it is. */
  protected deliverOwned(data: unknown): void {
    if (!this.#open) return;
    for (const handler of [...this.#messageHandlers]) handler(data);
  }

  /** Marks the link closed, then tells the drain waiters and close handlers; once only. */
  protected markClosed(): void {
    if (!this.#open) return;
    this.#open = false;
    this.notifyDrained();
    for (const handler of [...this.#closeHandlers]) handler();
  }
}
