/**
 * The scheduler's SQL side: its prepared statements and the mapping from rows to records. The
 * schema lives in the store (server/src/store); what the statements decide is in scheduler.ts and
 * in @tabswarm/core's lease policy.
 */
import type { SqlDatabase, SqlStatement } from '../store/sql-database.ts';
import type { JobSpec, JobStatus } from '@tabswarm/protocol';
import type { JobRecord, LeaseRecord } from './types.ts';

export interface JobRow {
  id: string;
  name: string;
  spec: string;
  status: JobStatus;
  status_reason: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  train_size: number;
  shard_size: number;
  shard_count: number;
  epochs_opened: number;
  shards_done: number;
  samples_done: number;
}

export interface LeaseRow {
  id: string;
  job_id: string;
  epoch: number;
  shard: number;
  node_id: string;
  issued_at: number;
  deadline: number;
  speculative: number;
  state: LeaseRecord['state'];
  counted: number;
  granted_deadline: number | null;
  replica_checkpoint: number | null;
}

/**
 * Parsed specs by job id. A spec never changes after creation, and every lease reads its job:
 * parsing the spec's JSON each time was a measurable share of a busy coordinator's lease path.
 * Frozen, since every reader shares one object; bounded by the number of jobs.
 */
const parsedSpecs = new Map<string, { readonly text: string; readonly spec: JobSpec }>();

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function specOf(id: string, text: string): JobSpec {
  const cached = parsedSpecs.get(id);
  if (cached !== undefined && cached.text === text) return cached.spec;
  const spec = deepFreeze(JSON.parse(text) as JobSpec);
  parsedSpecs.set(id, { text, spec });
  return spec;
}

export const toJob = (r: JobRow): JobRecord => ({
  id: r.id,
  name: r.name,
  spec: specOf(r.id, r.spec),
  status: r.status,
  statusReason: r.status_reason,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  trainSize: r.train_size,
  shardSize: r.shard_size,
  shardCount: r.shard_count,
  epochsOpened: r.epochs_opened,
  shardsDone: r.shards_done,
  samplesDone: r.samples_done,
});

export const toLease = (r: LeaseRow): LeaseRecord => ({
  id: r.id,
  jobId: r.job_id,
  epoch: r.epoch,
  shard: r.shard,
  nodeId: r.node_id,
  issuedAt: r.issued_at,
  deadline: r.deadline,
  speculative: r.speculative === 1,
  state: r.state,
  counted: r.counted === 1,
  grantedDeadline: r.granted_deadline,
  replicaCheckpoint: r.replica_checkpoint,
});

/** Every statement the scheduler runs, prepared once per database. */
export function prepareStatements(db: SqlDatabase) {
  const statements = {
    insertJob:
      db.prepare(`INSERT INTO jobs (id, name, spec, status, created_at, updated_at, train_size, shard_size, shard_count)
      VALUES (@id, @name, @spec, 'queued', @now, @now, @train_size, @shard_size, @shard_count)`),
    job: db.prepare('SELECT * FROM jobs WHERE id = ?'),
    jobs: db.prepare('SELECT * FROM jobs ORDER BY created_at, id'),
    leasableJobs: db.prepare(
      `SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at, id`,
    ),
    setStatus: db.prepare(`UPDATE jobs SET status = @status, status_reason = @reason, updated_at = @now,
      started_at = COALESCE(started_at, CASE WHEN @status = 'running' THEN CAST(@now AS BIGINT) END),
      finished_at = CASE WHEN @status IN ('completed', 'failed', 'cancelled') THEN CAST(@now AS BIGINT)
        ELSE finished_at END
      WHERE id = @id`),
    openEpoch: db.prepare('UPDATE jobs SET epochs_opened = epochs_opened + 1, updated_at = ? WHERE id = ?'),
    insertShard: db.prepare(
      `INSERT INTO shards (job_id, epoch, shard, position, state) VALUES (?, ?, ?, ?, 'pending')`,
    ),
    nextPending: db.prepare(`SELECT epoch, shard, reissues FROM shards WHERE job_id = ? AND state = 'pending'
      ORDER BY epoch, position LIMIT 1`),
    // Shards that could get a speculative copy: leased once, by someone else, oldest lease first.
    // Whether one is a straggler is decided in TypeScript by core's isStraggler, not here.
    copyCandidates: db.prepare(`SELECT s.epoch, s.shard, MIN(l.issued_at) AS "issuedAt",
        MIN(l.deadline) AS deadline FROM shards s
      JOIN leases l ON l.job_id = s.job_id AND l.epoch = s.epoch AND l.shard = s.shard AND l.state = 'active'
      WHERE s.job_id = @job AND s.state = 'leased'
      GROUP BY s.epoch, s.shard
      HAVING COUNT(*) = 1 AND SUM(CASE WHEN l.node_id = @node THEN 1 ELSE 0 END) = 0
        AND CAST(@now AS BIGINT) - MIN(l.issued_at)
          >= (MIN(l.deadline) - MIN(l.issued_at)) * CAST(@fraction AS DOUBLE PRECISION)
      ORDER BY MIN(l.issued_at), s.epoch, MIN(s.position)`),
    openShards: db.prepare(`SELECT COUNT(*) AS n FROM shards WHERE job_id = ? AND state != 'done'`),
    setShard: db.prepare(
      'UPDATE shards SET state = @state WHERE job_id = @job AND epoch = @epoch AND shard = @shard',
    ),
    markReissue: db.prepare(
      'UPDATE shards SET reissues = reissues + 1 WHERE job_id = ? AND epoch = ? AND shard = ?',
    ),
    shardState: db.prepare('SELECT state FROM shards WHERE job_id = ? AND epoch = ? AND shard = ?'),
    markDone: db.prepare(`UPDATE shards SET state = 'done', done_by = @lease, done_at = @now
      WHERE job_id = @job AND epoch = @epoch AND shard = @shard AND state != 'done'`),
    countDone:
      db.prepare(`UPDATE jobs SET shards_done = shards_done + 1, samples_done = samples_done + @samples,
      updated_at = @now WHERE id = @job`),
    insertLease:
      db.prepare(`INSERT INTO leases (id, job_id, epoch, shard, node_id, issued_at, deadline, granted_deadline,
        speculative, state, replica_checkpoint)
      VALUES (@id, @job, @epoch, @shard, @node, @now, @deadline, @deadline, @speculative, 'active', @replica)`),
    lease: db.prepare('SELECT * FROM leases WHERE id = ?'),
    activeOnShard: db.prepare(
      `SELECT * FROM leases WHERE job_id = ? AND epoch = ? AND shard = ? AND state = 'active'`,
    ),
    activeForNode: db.prepare(`SELECT * FROM leases WHERE node_id = ? AND state = 'active'`),
    // Samples and measured durations of the node's last completions on the job.
    measuredThroughput: db.prepare(`SELECT SUM(samples) AS samples, SUM(duration_ms) AS ms FROM (
        SELECT samples, duration_ms FROM leases
        WHERE node_id = ? AND job_id = ? AND state = 'completed' AND duration_ms IS NOT NULL
        ORDER BY completed_at DESC LIMIT ?) AS recent`),
    activeCountForNode: db.prepare(`SELECT COUNT(*) AS n FROM leases WHERE node_id = ? AND state = 'active'`),
    activeForJob: db.prepare(`SELECT * FROM leases WHERE job_id = ? AND state = 'active'`),
    activeCountForJob: db.prepare(`SELECT COUNT(*) AS n FROM leases WHERE state = 'active' AND job_id = ?`),
    // A shard holds the same samples in every epoch: its leases, all epochs, are its releases.
    mostLeasedShard: db.prepare(
      `SELECT COALESCE(MAX(n), 0) AS n FROM (SELECT COUNT(*) AS n FROM leases WHERE job_id = ? GROUP BY shard) AS per_shard`,
    ),
    allActive: db.prepare(`SELECT * FROM leases WHERE state = 'active'`),
    overdue: db.prepare(`SELECT * FROM leases WHERE state = 'active' AND deadline < ?`),
    activeCounts: db.prepare(
      `SELECT job_id, COUNT(*) AS n FROM leases WHERE state = 'active' GROUP BY job_id`,
    ),
    endLease: db.prepare('UPDATE leases SET state = @state WHERE id = @id'),
    completeLease: db.prepare(`UPDATE leases SET state = 'completed', counted = @counted, completed_at = @now,
      loss = @loss, samples = @samples, duration_ms = @duration WHERE id = @id`),
    recentWorkers: db.prepare(`SELECT node_id FROM leases WHERE job_id = ? AND state = 'completed'
      GROUP BY node_id ORDER BY MAX(completed_at) DESC LIMIT ?`),
    completions: db.prepare(`SELECT completed_at AS t, loss, samples, counted, node_id AS "nodeId" FROM leases
      WHERE job_id = ? AND state = 'completed' ORDER BY completed_at, id`),
    setDeadline: db.prepare('UPDATE leases SET deadline = @deadline WHERE id = @id'),
  };
  return statements satisfies Record<string, SqlStatement> as {
    readonly [K in keyof typeof statements]: SqlStatement;
  };
}

export type SchedulerStatements = ReturnType<typeof prepareStatements>;
