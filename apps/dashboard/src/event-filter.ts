/** Which log events a view shows: by kind and by job. Pure. */
import type { EventKind, LogEvent } from '@tabswarm/protocol';

export interface EventFilter {
  /** Empty: every kind. */
  readonly kinds: readonly EventKind[];
  /** null: every job and none; NO_JOB: only events about no job (joins, leaves). */
  readonly jobId: string | null;
}

export const NO_JOB = '-';

/** Newest first, at most `limit`. */
export function filterEvents(events: readonly LogEvent[], filter: EventFilter, limit = 500): LogEvent[] {
  const kinds = filter.kinds.length === 0 ? null : new Set(filter.kinds);
  const out: LogEvent[] = [];
  for (let i = events.length - 1; i >= 0 && out.length < limit; i--) {
    const e = events[i];
    if (e === undefined) continue;
    if (kinds !== null && !kinds.has(e.kind)) continue;
    if (filter.jobId === NO_JOB ? e.jobId !== null : filter.jobId !== null && e.jobId !== filter.jobId)
      continue;
    out.push(e);
  }
  return out;
}

/** How many events of each kind, for the filter's labels. */
export function countKinds(events: readonly LogEvent[]): Map<EventKind, number> {
  const counts = new Map<EventKind, number>();
  for (const e of events) counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
  return counts;
}
