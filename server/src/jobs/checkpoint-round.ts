/**
 * One checkpoint round's bookkeeping: who was invited (a one-time token each), what was accepted
 * or refused, and the retries allowed for frames damaged in transport; plus how a stored record is
 * summarised. The round's life (request, uploads, close) is Checkpointing's (checkpointing.ts).
 */
import crypto from 'node:crypto';
import type { CheckpointSummary } from '@tabswarm/protocol';
import type { CheckpointRecord, RejectedContributor } from '../store/checkpoint-repository.ts';

/**
 * What Checkpointing tells the rest of the coordinator (onCheckpoint): a checkpoint was written,
 * then evaluated (with the parameters it holds), or a round closed with no upload accepted (then no
 * checkpoint is written; the listener reports it: the training-health monitor, the logs).
 */
export type CheckpointChange =
  | { readonly kind: 'written'; readonly seq: number }
  | { readonly kind: 'evaluated'; readonly seq: number; readonly values: Float32Array }
  | { readonly kind: 'failed'; readonly seq: number; readonly rejected: readonly RejectedContributor[] };

export interface Upload {
  readonly values: Float32Array;
  readonly norm: number;
}

export interface Round {
  readonly requestId: string;
  readonly jobId: string;
  readonly seq: number;
  readonly startedAt: number;
  readonly shardsDone: number;
  readonly tokens: Map<string, string>;
  readonly accepted: Map<string, Upload>;
  readonly rejected: RejectedContributor[];
  /** Uploads that did not decode (truncated, bad checksum, …), by volunteer: retries are allowed. */
  readonly transportFailures: Map<string, { attempts: number; reason: string; message: string }>;
  timer: NodeJS.Timeout | undefined;
  finishing: boolean;
}

/**
 * An upload's answer. `accepted` means it passed the checks an upload can pass alone; whether it
 * is an outlier among the round's uploads is decided when the round closes, and recorded in the
 * checkpoint's contributors (an OUTLIER rejection).
 */
export type UploadOutcome =
  | { readonly accepted: true }
  | { readonly accepted: false; readonly reason: string; readonly message: string };

/**
 * Retries of an upload whose frame did not decode (truncated, bad checksum, …), within the round's
 * deadline: transport damage is not the volunteer's verdict on its model. A frame that decodes
 * and is then refused (wrong job or sender, length, non-finite values) is final.
 */
export const MAX_UPLOAD_RETRIES = 3;

/** The invited volunteer whose token this is (compared in constant time), or undefined. */
export function tokenOwner(round: Round, token: string): string | undefined {
  return [...round.tokens].find(([, t]) => safeEqual(t, token))?.[0];
}

/**
 * At the round's close, every invited volunteer with no accepted or refused upload is recorded:
 * with its last frame that did not decode, if it sent one (counted when it came), else TIMEOUT.
 */
export function recordMissingUploads(round: Round): void {
  for (const nodeId of round.tokens.keys()) {
    if (round.accepted.has(nodeId) || round.rejected.some((r) => r.nodeId === nodeId)) continue;
    const failed = round.transportFailures.get(nodeId);
    round.rejected.push(
      failed === undefined
        ? { nodeId, reason: 'TIMEOUT', message: 'no upload before the deadline' }
        : {
            nodeId,
            reason: failed.reason,
            message: `${failed.message} (attempt ${failed.attempts}; no valid retry before the deadline)`,
          },
    );
  }
}

export function summary(record: CheckpointRecord): CheckpointSummary {
  return {
    seq: record.seq,
    createdAt: record.createdAt,
    shardsDone: record.shardsDone,
    accuracy: record.accuracy,
    loss: record.loss,
  };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
