/**
 * Lease timing: a lease's deadline at issue and after a heartbeat, when it is overdue, and when
 * it is a straggler. The scheduler decides with these functions and the dashboard flags volunteers
 * with the same ones.
 */

export interface LeaseTiming {
  /** Shortest deadline, whatever the throughput. */
  readonly floorMs: number;
  /** Longest deadline at issue. */
  readonly capMs: number;
  /** A lease never lives longer than this, however often heartbeats extend it. */
  readonly maxLifetimeMs: number;
  /** Deadline = slack × expected time from the volunteer's measured throughput. */
  readonly slack: number;
  /** Throughput assumed for a volunteer that has not measured one yet. */
  readonly defaultSamplesPerSec: number;
  /**
   * When the queue is dry, a shard gets a speculative copy once its lease has run for this
   * fraction of its deadline window: a straggler, not merely the last shard handed out.
   */
  readonly speculateAfter: number;
}

/**
 * A lease is a straggler once it has run for this fraction of its deadline window: the scheduler
 * gives such shards speculative copies, and the dashboard flags their volunteers.
 */
export const STRAGGLER_FRACTION = 0.5;

export const DEFAULT_LEASE_TIMING: LeaseTiming = {
  floorMs: 30_000,
  capMs: 10 * 60_000,
  maxLifetimeMs: 30 * 60_000,
  slack: 3,
  defaultSamplesPerSec: 50,
  speculateAfter: STRAGGLER_FRACTION,
};

export interface LeaseWindow {
  readonly issuedAt: number;
  readonly deadline: number;
}

/**
 * The deadline of a lease of `samples` samples issued at `now`: slack × the time the volunteer's
 * measured throughput (or the default) predicts, within [floor, cap], rounded to a millisecond.
 */
export function leaseDeadline(
  timing: LeaseTiming,
  now: number,
  samples: number,
  samplesPerSec: number | undefined,
): number {
  const sps = samplesPerSec !== undefined && samplesPerSec > 0 ? samplesPerSec : timing.defaultSamplesPerSec;
  const expected = (timing.slack * samples * 1000) / sps;
  return now + Math.round(Math.min(timing.capMs, Math.max(timing.floorMs, expected)));
}

/**
 * A lease's deadline after its volunteer's heartbeat at `now`: at least a floor from now, never
 * past its maximum lifetime from issue.
 */
export function extendedDeadline(timing: LeaseTiming, lease: LeaseWindow, now: number): number {
  return Math.min(Math.max(lease.deadline, now + timing.floorMs), lease.issuedAt + timing.maxLifetimeMs);
}

/** A lease past its deadline is expired and its shard re-queued. */
export function isOverdue(lease: LeaseWindow, now: number): boolean {
  return lease.deadline < now;
}

/** Whether a lease has run for `fraction` of its deadline window at `now`. */
export function isStraggler(lease: LeaseWindow, now: number, fraction = STRAGGLER_FRACTION): boolean {
  return now - lease.issuedAt >= (lease.deadline - lease.issuedAt) * fraction;
}
