/**
 * The coordinator's event log: joins, leaves, lease expiries and re-issues, rejected updates,
 * checkpoints, job changes and errors, kept in a bounded ring for dashboards (live over
 * socket.io, history over REST). The pino log stays the complete record.
 */
import type { EventKind, LogEvent } from '@tabswarm/protocol';

type Listener = (event: LogEvent) => void;

export interface EventFilter {
  readonly jobId?: string;
  readonly kinds?: readonly EventKind[];
  readonly limit?: number;
}

export class EventLog {
  private readonly ring: LogEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private seq = 0;

  constructor(
    private readonly capacity = 2_000,
    private readonly now: () => number = Date.now,
  ) {}

  add(
    kind: EventKind,
    message: string,
    context: { jobId?: string; nodeId?: string; level?: LogEvent['level'] } = {},
  ): LogEvent {
    const event: LogEvent = {
      seq: ++this.seq,
      at: this.now(),
      kind,
      level: context.level ?? 'info',
      jobId: context.jobId ?? null,
      nodeId: context.nodeId ?? null,
      message,
    };
    this.ring.push(event);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const listener of this.listeners) listener(event);
    return event;
  }

  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Newest last; `limit` keeps the newest. */
  list(filter: EventFilter = {}): LogEvent[] {
    const kinds = filter.kinds && new Set(filter.kinds);
    const matching = this.ring.filter(
      (e) => (filter.jobId === undefined || e.jobId === filter.jobId) && (!kinds || kinds.has(e.kind)),
    );
    return matching.slice(-(filter.limit ?? 500));
  }
}
