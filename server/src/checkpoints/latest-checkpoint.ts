/**
 * The checkpoint a restarted coordinator or a late joiner starts from: the newest one whose file is
 * there, verifies, and is the file its metadata row describes. Older ones stand in for a bad newest.
 */
import path from 'node:path';
import type { CheckpointRecord, CheckpointRepository } from '../store/checkpoint-repository.ts';
import { readCheckpointFile, type CheckpointFileErrorCode } from './checkpoint-files.ts';

export interface SkippedCheckpoint {
  readonly seq: number;
  readonly code: CheckpointFileErrorCode | 'CHECKPOINT_MISMATCH';
  readonly message: string;
}

export interface LatestCheckpoint {
  readonly record: CheckpointRecord;
  readonly values: Float32Array;
}

export interface LatestCheckpointResult {
  /** Null when the job has no usable checkpoint (start from initial parameters). */
  readonly latest: LatestCheckpoint | null;
  /** Newer checkpoints passed over, newest first, with why: worth a log line each. */
  readonly skipped: readonly SkippedCheckpoint[];
}

export async function loadLatestCheckpoint(
  repository: CheckpointRepository,
  dataDir: string,
  jobId: string,
): Promise<LatestCheckpointResult> {
  const skipped: SkippedCheckpoint[] = [];
  for (const record of repository.list(jobId).reverse()) {
    const file = await readCheckpointFile(path.resolve(dataDir, record.file), { jobId });
    if (!file.ok) {
      skipped.push({ seq: record.seq, code: file.code, message: file.message });
      continue;
    }
    if (file.header.checksum !== record.checksum || file.header.elementCount !== record.elementCount) {
      skipped.push({
        seq: record.seq,
        code: 'CHECKPOINT_MISMATCH',
        message: `${record.file} verifies but is not the file its metadata describes`,
      });
      continue;
    }
    return { latest: { record, values: file.values }, skipped };
  }
  return { latest: null, skipped };
}
