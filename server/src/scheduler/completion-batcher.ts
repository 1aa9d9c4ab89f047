/**
 * Group commit for completions. Every completion must be durable (synchronous=FULL) before it is
 * acknowledged, and a flush per completion made the disk the coordinator's limit: a profile with
 * 200 load volunteers spent 30 % of the coordinator's time committing completion transactions.
 * Completions that arrive while one batch is being written — in practice, everything the event
 * loop read from the sockets in the same turn — are written together in one transaction and one
 * flush (Scheduler.completeLeases), and each caller's promise settles only after that commit.
 * An idle coordinator adds no wait: a lone completion is flushed on the next turn (setImmediate).
 */
import type { Scheduler } from './scheduler.ts';
import type { CompletionItem, CompletionOutcome } from './types.ts';

/** At most this many completions share a transaction (a bounded pause of the event loop). */
export const MAX_COMPLETION_BATCH = 256;

interface Waiting {
  readonly item: CompletionItem;
  resolve(outcome: CompletionOutcome): void;
  reject(error: unknown): void;
}

export class CompletionBatcher {
  #queue: Waiting[] = [];
  #scheduled = false;

  constructor(
    private readonly scheduler: Pick<Scheduler, 'completeLeases'>,
    /** Called with each batch's size once it is committed (a metric). */
    private readonly onBatch: (size: number) => void = () => {},
  ) {}

  complete(item: CompletionItem): Promise<CompletionOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    const batch = this.#queue.splice(0, MAX_COMPLETION_BATCH);
    if (this.#queue.length > 0) setImmediate(() => this.#flush());
    else this.#scheduled = false;
    if (batch.length === 0) return;
    let settled;
    try {
      settled = this.scheduler.completeLeases(batch.map((w) => w.item));
    } catch (error) {
      // The commit itself failed (the disk): nothing of the batch is recorded.
      for (const w of batch) w.reject(error);
      return;
    }
    this.onBatch(batch.length);
    batch.forEach((w, i) => {
      const s = settled[i];
      if (s === undefined) w.reject(new Error('no outcome for a batched completion'));
      else if (s.ok) w.resolve(s.outcome);
      else w.reject(s.error);
    });
  }
}
