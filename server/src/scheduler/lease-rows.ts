/**
 * Reading and ending one lease: shared by the scheduler's own operations and by completion
 * recording (a distrusted volunteer's leases are ended there). Callers run these inside their
 * transaction and emit the events they collect once it is committed.
 */
import { ProtocolError } from '@tabswarm/protocol';
import { toLease, type LeaseRow, type SchedulerStatements } from './scheduler-sql.ts';
import type { LeaseRecord, SchedulerEvent } from './types.ts';

export function findLease(sql: SchedulerStatements, id: string): LeaseRecord | undefined {
  const row = sql.lease.get(id) as LeaseRow | undefined;
  return row && toLease(row);
}

/** The lease, if it exists and the volunteer holds it; a ProtocolError otherwise. */
export function requireLease(sql: SchedulerStatements, id: string, nodeId: string): LeaseRecord {
  const lease = findLease(sql, id);
  if (!lease) throw new ProtocolError('UNKNOWN_LEASE', `unknown lease ${id}`);
  if (lease.nodeId !== nodeId)
    throw new ProtocolError('NOT_YOUR_LEASE', `lease ${id} belongs to another volunteer`);
  return lease;
}

/** Ends an active lease; its shard goes back to pending when no other copy of it is active. */
export function endActiveLease(
  sql: SchedulerStatements,
  lease: LeaseRecord,
  state: 'expired' | 'released' | 'cancelled',
  events: SchedulerEvent[],
  reason = 'cancelled',
): LeaseRecord {
  sql.endLease.run({ id: lease.id, state });
  const shard = sql.shardState.get(lease.jobId, lease.epoch, lease.shard) as { state: string } | undefined;
  const others = (sql.activeOnShard.all(lease.jobId, lease.epoch, lease.shard) as LeaseRow[]).length;
  if (shard?.state === 'leased' && others === 0) {
    sql.setShard.run({ state: 'pending', job: lease.jobId, epoch: lease.epoch, shard: lease.shard });
    sql.markReissue.run(lease.jobId, lease.epoch, lease.shard);
  }
  const ended = { ...lease, state };
  events.push(
    state === 'cancelled'
      ? { type: 'cancelled', lease: ended, reason }
      : state === 'expired'
        ? { type: 'expired', lease: ended }
        : { type: 'released', lease: ended },
  );
  return ended;
}
