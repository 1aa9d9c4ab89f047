/**
 * Checkpoint metadata in SQLite (migration 004). The payload lives in a frame file; a row is
 * inserted once that file is durable and updated when its evaluation finishes.
 */
import type { SqlDatabase } from './sql-database.ts';

export const CHECKPOINT_STATUSES = ['written', 'evaluated', 'eval_failed'] as const;
export type CheckpointStatus = (typeof CHECKPOINT_STATUSES)[number];

export interface AcceptedContributor {
  readonly nodeId: string;
  readonly norm: number;
  readonly weight: number;
}

export interface RejectedContributor {
  readonly nodeId: string;
  /** A validation reason (a frame error, LENGTH, NON_FINITE, OUTLIER) or one the orchestration adds (e.g. TIMEOUT). */
  readonly reason: string;
  readonly message: string;
}

export interface CheckpointContributors {
  readonly accepted: readonly AcceptedContributor[];
  readonly rejected: readonly RejectedContributor[];
}

export interface NewCheckpoint {
  readonly jobId: string;
  readonly seq: number;
  readonly round: number;
  readonly shardsDone: number;
  readonly createdAt: number;
  /** Relative to the data directory (WrittenCheckpoint.relativePath). */
  readonly file: string;
  readonly bytes: number;
  readonly checksum: number;
  readonly elementCount: number;
  readonly contributors: CheckpointContributors;
  /** L2 norm of the averaged parameters (FedAvg uploads are held to it until a FedAvg round closes). */
  readonly norm: number;
}

export interface CheckpointRecord extends NewCheckpoint {
  readonly status: CheckpointStatus;
  readonly accuracy: number | null;
  readonly loss: number | null;
  readonly evalDurationMs: number | null;
  readonly evaluatedAt: number | null;
  readonly evalError: string | null;
}

export interface EvaluationResult {
  readonly accuracy: number;
  readonly loss: number;
  readonly durationMs: number;
  readonly evaluatedAt: number;
}

export interface CheckpointRepository {
  /** Throws when (jobId, seq) exists already. */
  insert(checkpoint: NewCheckpoint): CheckpointRecord;
  /** Records an evaluation; false when no such checkpoint. */
  setEvaluation(jobId: string, seq: number, result: EvaluationResult): boolean;
  /** Records that evaluation failed, so the checkpoint is not waited on forever; false when no such checkpoint. */
  setEvaluationFailed(jobId: string, seq: number, message: string, at: number): boolean;
  get(jobId: string, seq: number): CheckpointRecord | undefined;
  /** The highest seq of a job. The caller verifies its file and falls back through `list` if needed. */
  latest(jobId: string): CheckpointRecord | undefined;
  /** A job's checkpoints, ascending by seq. */
  list(jobId: string): CheckpointRecord[];
  /** The seq the next checkpoint of a job takes: past every checkpoint and reservation. */
  nextSeq(jobId: string): number;
  /**
   * Takes the next seq for a round in flight, atomically: a coordinator sharing the database
   * takes another. Released with releaseSeq once the round is recorded or has failed.
   */
  reserveSeq(jobId: string, at: number): number;
  releaseSeq(jobId: string, seq: number): void;
  /** Forgets reservations made before `before` (rounds of a coordinator that crashed); returns how many. */
  dropReservations(before: number): number;
  /** Removes a row (retention, or a row whose file is gone); false when none. */
  remove(jobId: string, seq: number): boolean;
}

interface CheckpointRow {
  job_id: string;
  seq: number;
  round: number;
  shards_done: number;
  created_at: number;
  file: string;
  bytes: number;
  checksum: number;
  element_count: number;
  contributors: string;
  norm: number;
  status: CheckpointStatus;
  accuracy: number | null;
  loss: number | null;
  eval_duration_ms: number | null;
  evaluated_at: number | null;
  eval_error: string | null;
}

const fromRow = (r: CheckpointRow): CheckpointRecord => ({
  jobId: r.job_id,
  seq: r.seq,
  round: r.round,
  shardsDone: r.shards_done,
  createdAt: r.created_at,
  file: r.file,
  bytes: r.bytes,
  checksum: r.checksum,
  elementCount: r.element_count,
  contributors: JSON.parse(r.contributors) as CheckpointContributors,
  norm: r.norm,
  status: r.status,
  accuracy: r.accuracy,
  loss: r.loss,
  evalDurationMs: r.eval_duration_ms,
  evaluatedAt: r.evaluated_at,
  evalError: r.eval_error,
});

export function createCheckpointRepository(db: SqlDatabase): CheckpointRepository {
  const insert = db.prepare(`INSERT INTO checkpoints
      (job_id, seq, round, shards_done, created_at, file, bytes, checksum, element_count, contributors,
       norm, status)
    VALUES (@job_id, @seq, @round, @shards_done, @created_at, @file, @bytes, @checksum, @element_count,
       @contributors, @norm, 'written')`);
  const evaluated = db.prepare(`UPDATE checkpoints SET status = 'evaluated', accuracy = ?, loss = ?,
      eval_duration_ms = ?, evaluated_at = ?, eval_error = NULL WHERE job_id = ? AND seq = ?`);
  const failed = db.prepare(`UPDATE checkpoints SET status = 'eval_failed', eval_error = ?, evaluated_at = ?
      WHERE job_id = ? AND seq = ?`);
  const byKey = db.prepare('SELECT * FROM checkpoints WHERE job_id = ? AND seq = ?');
  const latest = db.prepare('SELECT * FROM checkpoints WHERE job_id = ? ORDER BY seq DESC LIMIT 1');
  const all = db.prepare('SELECT * FROM checkpoints WHERE job_id = ? ORDER BY seq');
  const maxSeq = db.prepare(`SELECT MAX(seq) AS seq FROM (
      SELECT seq FROM checkpoints WHERE job_id = @job
      UNION ALL SELECT seq FROM checkpoint_reservations WHERE job_id = @job) AS taken`);
  const reserve = db.prepare(
    'INSERT INTO checkpoint_reservations (job_id, seq, reserved_at) VALUES (?, ?, ?)',
  );
  const release = db.prepare('DELETE FROM checkpoint_reservations WHERE job_id = ? AND seq = ?');
  const dropOld = db.prepare('DELETE FROM checkpoint_reservations WHERE reserved_at < ?');
  const nextSeq = (jobId: string): number => {
    const { seq } = maxSeq.get({ job: jobId }) as { seq: number | null };
    return seq === null ? 0 : seq + 1;
  };
  const reserveSeq = db.transaction((jobId: string, at: number): number => {
    const seq = nextSeq(jobId);
    reserve.run(jobId, seq, at);
    return seq;
  });
  const remove = db.prepare('DELETE FROM checkpoints WHERE job_id = ? AND seq = ?');

  const get = (jobId: string, seq: number) => {
    const row = byKey.get(jobId, seq) as CheckpointRow | undefined;
    return row && fromRow(row);
  };

  return {
    insert(c) {
      insert.run({
        job_id: c.jobId,
        seq: c.seq,
        round: c.round,
        shards_done: c.shardsDone,
        created_at: c.createdAt,
        file: c.file,
        bytes: c.bytes,
        checksum: c.checksum,
        element_count: c.elementCount,
        contributors: JSON.stringify(c.contributors),
        norm: c.norm,
      });
      return get(c.jobId, c.seq) as CheckpointRecord;
    },
    setEvaluation(jobId, seq, r) {
      return evaluated.run(r.accuracy, r.loss, r.durationMs, r.evaluatedAt, jobId, seq).changes === 1;
    },
    setEvaluationFailed(jobId, seq, message, at) {
      return failed.run(message, at, jobId, seq).changes === 1;
    },
    get,
    latest(jobId) {
      const row = latest.get(jobId) as CheckpointRow | undefined;
      return row && fromRow(row);
    },
    list(jobId) {
      return (all.all(jobId) as CheckpointRow[]).map(fromRow);
    },
    nextSeq,
    reserveSeq,
    releaseSeq(jobId, seq) {
      release.run(jobId, seq);
    },
    dropReservations(before) {
      return dropOld.run(before).changes;
    },
    remove(jobId, seq) {
      return remove.run(jobId, seq).changes === 1;
    },
  };
}
