/**
 * Reads a coordinator's store (read-only) to check that every shard of every epoch of a job was
 * counted exactly once: one counted lease per (epoch, shard), every shard row done, and the job's
 * sample count equal to its training set times its epochs. For the scale test and measurements.
 */
import path from 'node:path';
import Database from 'better-sqlite3';

export interface ShardAccounting {
  readonly epochs: number;
  readonly shardCount: number;
  /** Shard rows per epoch that are done. */
  readonly doneByEpoch: readonly number[];
  /** (epoch, shard) pairs with no counted lease. */
  readonly lost: number;
  /** (epoch, shard) pairs with more than one counted lease. */
  readonly doubleCounted: number;
  readonly countedLeases: number;
  readonly samplesDone: number;
  readonly trainSize: number;
  /** Leases issued again after an expiry or release (speculative copies included). */
  readonly reissues: number;
}

export function shardAccounting(dataDir: string, jobId: string): ShardAccounting {
  const db = new Database(path.join(dataDir, 'tabswarm.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const job = db
      .prepare('SELECT shard_count, epochs_opened, samples_done, train_size FROM jobs WHERE id = ?')
      .get(jobId) as
      { shard_count: number; epochs_opened: number; samples_done: number; train_size: number } | undefined;
    if (job === undefined) throw new Error(`no job ${jobId} in ${dataDir}`);
    const doneByEpoch = Array.from({ length: job.epochs_opened }, () => 0);
    for (const row of db
      .prepare("SELECT epoch, COUNT(*) AS n FROM shards WHERE job_id = ? AND state = 'done' GROUP BY epoch")
      .all(jobId) as { epoch: number; n: number }[]) {
      doneByEpoch[row.epoch] = row.n;
    }
    const counted = db
      .prepare(
        `SELECT s.epoch, s.shard, COUNT(l.id) AS n FROM shards s
         LEFT JOIN leases l ON l.job_id = s.job_id AND l.epoch = s.epoch AND l.shard = s.shard AND l.counted = 1
         WHERE s.job_id = ? GROUP BY s.epoch, s.shard`,
      )
      .all(jobId) as { n: number }[];
    const reissues = db
      .prepare('SELECT COALESCE(SUM(reissues), 0) AS n FROM shards WHERE job_id = ?')
      .get(jobId) as {
      n: number;
    };
    return {
      epochs: job.epochs_opened,
      shardCount: job.shard_count,
      doneByEpoch,
      lost: counted.filter((c) => c.n === 0).length,
      doubleCounted: counted.filter((c) => c.n > 1).length,
      countedLeases: counted.reduce((a, c) => a + c.n, 0),
      samplesDone: job.samples_done,
      trainSize: job.train_size,
      reissues: reissues.n,
    };
  } finally {
    db.close();
  }
}
