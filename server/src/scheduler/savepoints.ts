/**
 * The scheduler's batch methods (group commit, write-batcher.ts) share one shape: every request
 * in its own savepoint of one transaction, in order, so that one refused request changes nothing
 * and does not affect the others.
 */
import type { SqlDatabase } from '../store/sql-database.ts';
import type { SchedulerEvent, Settled } from './types.ts';

/**
 * Runs `one` for each item, each in its own savepoint of one transaction. Only the events of the
 * items that succeed are returned, for the caller to emit once the transaction is committed.
 */
export function settleEach<I, V>(
  db: SqlDatabase,
  items: readonly I[],
  one: (item: I, events: SchedulerEvent[]) => V,
): { settled: Settled<V>[]; events: SchedulerEvent[] } {
  const events: SchedulerEvent[] = [];
  const settled = db.transaction((): Settled<V>[] =>
    items.map((item) => {
      const own: SchedulerEvent[] = [];
      try {
        const value = db.transaction(() => one(item, own))();
        events.push(...own);
        return { ok: true, value };
      } catch (error) {
        return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
      }
    }),
  )();
  return { settled, events };
}
