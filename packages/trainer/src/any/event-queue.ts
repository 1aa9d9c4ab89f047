/**
 * A push-to-pull bridge: producers push events, one consumer iterates them with `for await`.
 * Bounded: when the consumer falls behind, the oldest droppable events go first.
 */
export class EventQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #waiting: ((result: IteratorResult<T>) => void) | null = null;
  #closed = false;

  constructor(
    private readonly limit = 1000,
    /** Events that may be dropped when the queue is full (e.g. per-step progress). */
    private readonly droppable: (item: T) => boolean = () => true,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  push(item: T): void {
    if (this.#closed) return;
    const waiting = this.#waiting;
    if (waiting !== null) {
      this.#waiting = null;
      waiting({ value: item, done: false });
      return;
    }
    this.#items.push(item);
    if (this.#items.length > this.limit) {
      const index = this.#items.findIndex(this.droppable);
      this.#items.splice(index === -1 ? 0 : index, 1);
    }
  }

  /** Ends the stream once the queued events have been read. */
  close(): void {
    this.#closed = true;
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.#items.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.#closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.#waiting = resolve));
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
