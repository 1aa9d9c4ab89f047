/**
 * The coordinator's event log: joins, leaves, lease expiries and re-issues, rejected updates,
 * checkpoints, job changes and errors, kept in a bounded ring for dashboards (live over
 * socket.io, history over REST). The pino log stays the complete record.
 */
import type { EventKind, LogEvent } from '@tabswarm/protocol';
import type { Scheduler } from './scheduler/scheduler.ts';

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

/** Lease expiries, re-issues, speculative copies and job status changes, as event-log lines. */
export function logSchedulerEvents(scheduler: Scheduler, events: EventLog): void {
  scheduler.onEvent((event) => {
    if (event.type === 'expired') {
      events.add(
        'lease-expired',
        `lease of shard ${event.lease.shard} (epoch ${event.lease.epoch}) expired`,
        {
          jobId: event.lease.jobId,
          nodeId: event.lease.nodeId,
          level: 'warn',
        },
      );
    } else if (event.type === 'issued' && (event.lease.reissue || event.lease.speculative)) {
      const kind = event.lease.speculative ? 'lease-speculative' : 'lease-reissued';
      const what = event.lease.speculative ? 'speculative copy of' : 're-issued';
      events.add(kind, `${what} shard ${event.lease.shard} (epoch ${event.lease.epoch})`, {
        jobId: event.lease.jobId,
        nodeId: event.lease.nodeId,
      });
    } else if (event.type === 'job') {
      const reason = event.job.statusReason === null ? '' : `: ${event.job.statusReason}`;
      events.add('job', `job "${event.job.name}" is ${event.job.status}${reason}`, { jobId: event.job.id });
    }
  });
}
