/**
 * Group commit. A busy coordinator paid one SQLite commit per lease and one disk flush per
 * completion; requests that arrive together — in practice, everything the event loop read from
 * the sockets in one turn — are written in one transaction instead (the scheduler's batch
 * methods: each request in its own savepoint with the single-request rules, in arrival order),
 * and each caller's promise settles only after that commit. An idle coordinator adds no wait: a
 * lone request is written on the next turn (setImmediate).
 */
import type { Settled } from './types.ts';

/** At most this many requests share a transaction (a bounded pause of the event loop). */
export const MAX_WRITE_BATCH = 256;

interface Waiting<I, O> {
  readonly item: I;
  resolve(outcome: O): void;
  reject(error: unknown): void;
}

export class WriteBatcher<I, O> {
  #queue: Waiting<I, O>[] = [];
  #scheduled = false;

  constructor(
    /** Writes a batch in one transaction; one settled entry per item, in order. */
    private readonly write: (items: readonly I[]) => Settled<O>[],
    /** Called with each batch's size once it is committed (a metric). */
    private readonly onBatch: (size: number) => void = () => {},
  ) {}

  submit(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    const batch = this.#queue.splice(0, MAX_WRITE_BATCH);
    if (this.#queue.length > 0) setImmediate(() => this.#flush());
    else this.#scheduled = false;
    if (batch.length === 0) return;
    let settled: Settled<O>[];
    try {
      settled = this.write(batch.map((w) => w.item));
    } catch (error) {
      // The commit itself failed (the disk): nothing of the batch is recorded.
      for (const w of batch) w.reject(error);
      return;
    }
    this.onBatch(batch.length);
    batch.forEach((w, i) => {
      const s = settled[i];
      if (s === undefined) w.reject(new Error('no outcome for a batched request'));
      else if (s.ok) w.resolve(s.value);
      else w.reject(s.error);
    });
  }
}
