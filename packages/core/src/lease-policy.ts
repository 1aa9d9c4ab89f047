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
  /**
   * Heartbeats extend a lease to at most this many times its window at grant (grant to first
   * deadline) from its grant, and never past maxLifetimeMs: a shard expected to take a minute is
   * not kept from everyone else for half an hour by a volunteer that only heartbeats.
   */
  readonly lifetimeMultiple: number;
  /**
   * Most leases one volunteer may hold at once, speculative copies included. A volunteer trains
   * one shard at a time; the rest of the allowance covers a grant whose answer was lost (released
   * once the volunteer's heartbeats leave it out) and the next lease asked for meanwhile. A
   * request over the cap gets no lease.
   */
  readonly maxLeasesPerVolunteer: number;
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

/** A volunteer's default allowance of concurrent leases: see LeaseTiming.maxLeasesPerVolunteer. */
export const DEFAULT_MAX_LEASES_PER_VOLUNTEER = 4;

export const DEFAULT_LEASE_TIMING: LeaseTiming = {
  floorMs: 30_000,
  capMs: 10 * 60_000,
  maxLifetimeMs: 30 * 60_000,
  lifetimeMultiple: 4,
  maxLeasesPerVolunteer: DEFAULT_MAX_LEASES_PER_VOLUNTEER,
  slack: 3,
  defaultSamplesPerSec: 50,
  speculateAfter: STRAGGLER_FRACTION,
};

export interface LeaseWindow {
  readonly issuedAt: number;
  readonly deadline: number;
}

/** A lease as heartbeats extend it: its window, and its deadline when it was granted. */
export interface ExtendableLease extends LeaseWindow {
  /** The deadline at grant; null for a lease recorded before it was kept (then maxLifetimeMs bounds it). */
  readonly grantedDeadline?: number | null;
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
 * The latest a lease may live to, however often it is extended: lifetimeMultiple × its window at
 * grant from its grant, and never past maxLifetimeMs from it.
 */
export function leaseLifetimeEnd(timing: LeaseTiming, lease: ExtendableLease): number {
  const granted = lease.grantedDeadline ?? null;
  const lifetime =
    granted === null
      ? timing.maxLifetimeMs
      : Math.min(timing.maxLifetimeMs, Math.round(timing.lifetimeMultiple * (granted - lease.issuedAt)));
  return lease.issuedAt + Math.max(0, lifetime);
}

/**
 * A lease's deadline after its volunteer's heartbeat at `now`: at least a floor from now, never
 * past its lifetime (leaseLifetimeEnd). A lease at the end of its lifetime is left to expire and
 * its shard goes back to the queue for others.
 */
export function extendedDeadline(timing: LeaseTiming, lease: ExtendableLease, now: number): number {
  return Math.min(Math.max(lease.deadline, now + timing.floorMs), leaseLifetimeEnd(timing, lease));
}

/** A lease past its deadline is expired and its shard re-queued. */
export function isOverdue(lease: LeaseWindow, now: number): boolean {
  return lease.deadline < now;
}

/** Whether a lease has run for `fraction` of its deadline window at `now`. */
export function isStraggler(lease: LeaseWindow, now: number, fraction = STRAGGLER_FRACTION): boolean {
  return now - lease.issuedAt >= (lease.deadline - lease.issuedAt) * fraction;
}
