/** What the scheduler hands out and records. Times are epoch milliseconds from the injected clock. */
import type { JobSpec, JobStatus, ReplicaGrant, UpdateStatistics } from '@tabswarm/protocol';

// The lease policy is core's (shared with the tabs); re-exported for the server's wiring.
export { DEFAULT_LEASE_TIMING, type LeaseTiming } from '@tabswarm/core';

export interface JobRecord {
  readonly id: string;
  readonly name: string;
  readonly spec: JobSpec;
  readonly status: JobStatus;
  readonly statusReason: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly trainSize: number;
  readonly shardSize: number;
  readonly shardCount: number;
  readonly epochsOpened: number;
  readonly shardsDone: number;
  readonly samplesDone: number;
}

export type LeaseState = 'active' | 'completed' | 'expired' | 'released' | 'cancelled';

export interface LeaseRecord {
  readonly id: string;
  readonly jobId: string;
  readonly epoch: number;
  readonly shard: number;
  readonly nodeId: string;
  readonly issuedAt: number;
  readonly deadline: number;
  readonly speculative: boolean;
  readonly state: LeaseState;
  readonly counted: boolean;
  /** The deadline it was granted with (null if granted before this was kept): bounds its lifetime. */
  readonly grantedDeadline: number | null;
  /** A replicated lease's start checkpoint (validated work); null or absent for others. */
  readonly replicaCheckpoint?: number | null;
}

export interface LeaseGrant extends LeaseRecord {
  /** Sample index range [start, end) of the dataset's training split. */
  readonly start: number;
  readonly end: number;
  /** True when this shard had been leased before and the earlier lease expired or was released. */
  readonly reissue: boolean;
  /** Present on a replicated lease: train from this checkpoint and report the update's statistics. */
  readonly replica?: ReplicaGrant | null;
}

export interface CompletionResult {
  readonly loss: number;
  readonly samples: number;
  readonly durationMs: number;
  /** A replicated lease's update statistics. */
  readonly update?: UpdateStatistics | undefined;
}

export type CompletionOutcome =
  | {
      readonly kind: 'counted';
      readonly lease: LeaseRecord;
      readonly job: JobRecord;
      readonly cancelled: readonly LeaseRecord[];
    }
  /** Recorded, not counted: the shard was already done (a late or losing speculative copy) or the job ended. */
  | { readonly kind: 'late'; readonly lease: LeaseRecord }
  /** The same completion again: recognised and ignored. */
  | { readonly kind: 'duplicate'; readonly lease: LeaseRecord };

/** One completion as the scheduler's batch takes it. */
export interface CompletionItem {
  readonly leaseId: string;
  readonly nodeId: string;
  readonly result: CompletionResult;
}

/** One lease request as the scheduler's batch takes it. */
export interface LeaseRequestItem {
  readonly nodeId: string;
  readonly samplesPerSec?: number | undefined;
}

/** What became of one request of a batch: its value, or why it was refused (nothing changed). */
export type Settled<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Error };

export type SchedulerEvent =
  | { readonly type: 'issued'; readonly lease: LeaseGrant }
  | {
      readonly type: 'completed';
      readonly lease: LeaseRecord;
      readonly counted: boolean;
      readonly samples: number;
      readonly loss: number;
    }
  | { readonly type: 'expired'; readonly lease: LeaseRecord }
  | { readonly type: 'released'; readonly lease: LeaseRecord }
  | { readonly type: 'cancelled'; readonly lease: LeaseRecord; readonly reason: string }
  | { readonly type: 'job'; readonly job: JobRecord }
  /** Replicas of a shard were judged (validated work): whose trust changed, who is now distrusted. */
  | {
      readonly type: 'judged';
      readonly jobId: string;
      readonly verdicts: readonly {
        readonly nodeId: string;
        readonly verdict: 'valid' | 'invalid' | 'inconclusive';
      }[];
      readonly distrusted: readonly string[];
    };
