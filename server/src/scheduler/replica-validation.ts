/**
 * Validated work (BOINC's model) inside the scheduler's transactions: which shards are
 * replicated (the job's `validation.replication`, adaptively lower for trusted volunteers, by
 * core's seeded rule), which volunteer gets the next replica of one, and what a replica's result
 * does: core's judgeReplicas decides who agreed, trust and credit move with the verdicts, and a
 * volunteer whose trust falls below core's DISTRUST_BELOW is reported so the scheduler revokes
 * its leases. All of it is in SQLite (migration 016), so it survives a restart.
 */
import type { SqlDatabase } from '../store/sql-database.ts';
import {
  DISTRUST_BELOW,
  INITIAL_TRUST,
  MAX_REPLICAS,
  isDistrusted,
  isReplicated,
  judgeReplicas,
  nextTrust,
  replicaSeed,
  spotCheckRate,
  type ReplicaResult,
  type UpdateStatistics,
} from '@tabswarm/core';
import type { ReplicaGrant, VolunteerTrust } from '@tabswarm/protocol';
import type { Clock } from '../membership.ts';
import type { JobRecord, LeaseRecord } from './types.ts';

/** A shard a volunteer may take a replica of. */
export interface ReplicaTask extends ReplicaGrant {
  readonly epoch: number;
  readonly shard: number;
}

interface TrustRow {
  node_id: string;
  trust: number;
  valid: number;
  invalid: number;
  inconclusive: number;
  credit: number;
}

interface ResultRow {
  lease_id: string;
  node_id: string;
  loss: number;
  statistics: string | null;
  samples: number;
  verdict: 'pending' | 'valid' | 'invalid' | 'inconclusive';
}

/** What recording a replica's result changed. */
export interface ReplicaOutcome {
  /** Volunteers that fell below the trust threshold now: their leases are to be revoked. */
  readonly distrusted: readonly string[];
  /** Verdicts given now, one per judged replica. */
  readonly verdicts: readonly {
    readonly nodeId: string;
    readonly verdict: 'valid' | 'invalid' | 'inconclusive';
  }[];
}

export function standingOf(trust: number, judged: number): VolunteerTrust['standing'] {
  if (isDistrusted(trust)) return 'distrusted';
  return judged === 0 || trust <= INITIAL_TRUST ? 'new' : 'trusted';
}

const toTrust = (row: TrustRow): VolunteerTrust => ({
  trust: row.trust,
  standing: standingOf(row.trust, row.valid + row.invalid + row.inconclusive),
  valid: row.valid,
  invalid: row.invalid,
  inconclusive: row.inconclusive,
  credit: row.credit,
});

function parseStatistics(text: string | null): UpdateStatistics | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as UpdateStatistics;
  } catch {
    return null;
  }
}

export class ReplicaValidation {
  private readonly sql;
  /** Distrusted node ids: asked on every lease request, so kept in memory (loaded from the store). */
  private readonly distrusted = new Set<string>();

  constructor(
    db: SqlDatabase,
    private readonly now: Clock,
  ) {
    this.sql = {
      trust: db.prepare('SELECT * FROM volunteer_trust WHERE node_id = ?'),
      allTrust: db.prepare('SELECT * FROM volunteer_trust ORDER BY credit DESC, node_id LIMIT ?'),
      distrusted: db.prepare('SELECT node_id FROM volunteer_trust WHERE trust < ?'),
      upsertTrust:
        db.prepare(`INSERT INTO volunteer_trust (node_id, trust, valid, invalid, inconclusive, credit, updated_at)
        VALUES (@node, @trust, @valid, @invalid, @inconclusive, @credit, @now)
        ON CONFLICT (node_id) DO UPDATE SET trust = @trust, valid = volunteer_trust.valid + @valid,
          invalid = volunteer_trust.invalid + @invalid,
          inconclusive = volunteer_trust.inconclusive + @inconclusive,
          credit = volunteer_trust.credit + @credit, updated_at = @now`),
      shard: db.prepare('SELECT * FROM replicated_shards WHERE job_id = ? AND epoch = ? AND shard = ?'),
      insertShard:
        db.prepare(`INSERT INTO replicated_shards (job_id, epoch, shard, checkpoint, seed, wanted, state, created_at)
        VALUES (@job, @epoch, @shard, @checkpoint, @seed, 2, 'open', @now)`),
      setShard: db.prepare(
        'UPDATE replicated_shards SET wanted = @wanted, state = @state WHERE job_id = @job AND epoch = @epoch AND shard = @shard',
      ),
      // Replica leases of a shard that are running or done: what counts against `wanted`.
      replicasOf:
        db.prepare(`SELECT COUNT(*) AS n, SUM(CASE WHEN node_id = @node THEN 1 ELSE 0 END) AS mine FROM leases
        WHERE job_id = @job AND epoch = @epoch AND shard = @shard AND replica_checkpoint IS NOT NULL
          AND state IN ('active', 'completed')`),
      triedBy: db.prepare(`SELECT 1 FROM leases WHERE job_id = @job AND epoch = @epoch AND shard = @shard
        AND replica_checkpoint IS NOT NULL AND node_id = @node LIMIT 1`),
      // Open replicated shards of a job that want another replica the node has not tried, oldest
      // first (in the order their shards were handed out: created, then queue position).
      openFor: db.prepare(`SELECT r.epoch, r.shard, r.checkpoint, r.seed FROM replicated_shards r
        WHERE r.job_id = @job AND r.state = 'open'
          AND (SELECT COUNT(*) FROM leases l WHERE l.job_id = r.job_id AND l.epoch = r.epoch AND l.shard = r.shard
               AND l.replica_checkpoint IS NOT NULL AND l.state IN ('active', 'completed')) < r.wanted
          AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.job_id = r.job_id AND l.epoch = r.epoch AND l.shard = r.shard
               AND l.replica_checkpoint IS NOT NULL AND l.node_id = @node)
          AND EXISTS (SELECT 1 FROM leases l WHERE l.job_id = r.job_id AND l.epoch = r.epoch AND l.shard = r.shard
               AND l.replica_checkpoint IS NOT NULL AND l.state IN ('active', 'completed'))
        ORDER BY r.created_at, r.epoch,
          (SELECT s.position FROM shards s WHERE s.job_id = r.job_id AND s.epoch = r.epoch AND s.shard = r.shard)
        LIMIT 1`),
      latestCheckpoint: db.prepare('SELECT MAX(seq) AS seq FROM checkpoints WHERE job_id = ?'),
      insertResult: db.prepare(`INSERT INTO replica_results
        (lease_id, job_id, epoch, shard, node_id, loss, statistics, samples, verdict, reported_at)
        VALUES (@lease, @job, @epoch, @shard, @node, @loss, @statistics, @samples, 'pending', @now)
        ON CONFLICT DO NOTHING`),
      results: db.prepare(
        'SELECT * FROM replica_results WHERE job_id = ? AND epoch = ? AND shard = ? ORDER BY reported_at, lease_id',
      ),
      setVerdict: db.prepare('UPDATE replica_results SET verdict = @verdict WHERE lease_id = @lease'),
    };
    for (const row of this.sql.distrusted.all(DISTRUST_BELOW) as { node_id: string }[])
      this.distrusted.add(row.node_id);
  }

  /** Whether the volunteer's validated work put it below the trust threshold (no more leases). */
  isDistrusted(nodeId: string): boolean {
    return this.distrusted.has(nodeId);
  }

  /** The volunteer's trust, or undefined when none of its work was judged yet. */
  trustOf(nodeId: string): VolunteerTrust | undefined {
    const row = this.sql.trust.get(nodeId) as TrustRow | undefined;
    return row && toTrust(row);
  }

  /** Every judged volunteer, most credit first (at most `limit`). */
  contributors(limit: number): (VolunteerTrust & { nodeId: string })[] {
    return (this.sql.allTrust.all(limit) as TrustRow[]).map((row) => ({
      nodeId: row.node_id,
      ...toTrust(row),
    }));
  }

  /** A replica of one of the job's shards that the volunteer may train now, or undefined. */
  taskFor(job: JobRecord, nodeId: string): ReplicaTask | undefined {
    if ((job.spec.validation?.replication ?? 0) <= 0) return undefined;
    return this.sql.openFor.get({ job: job.id, node: nodeId }) as ReplicaTask | undefined;
  }

  /**
   * Whether an ordinary grant of (epoch, shard) to the volunteer is a replica: a shard already
   * replicated (its earlier replica lease expired or was released) that the volunteer has not
   * tried, or a shard the seeded rule picks at the volunteer's spot-check rate now (recorded).
   */
  replicaForGrant(job: JobRecord, epoch: number, shard: number, nodeId: string): ReplicaGrant | null {
    const replication = job.spec.validation?.replication ?? 0;
    if (replication <= 0) return null;
    const existing = this.sql.shard.get(job.id, epoch, shard) as
      { checkpoint: number; seed: number; wanted: number; state: string } | undefined;
    if (existing !== undefined) {
      if (existing.state !== 'open') return null;
      const replicas = this.sql.replicasOf.get({ job: job.id, epoch, shard, node: nodeId }) as { n: number };
      if (replicas.n >= existing.wanted) return null;
      if (this.sql.triedBy.get({ job: job.id, epoch, shard, node: nodeId }) !== undefined) return null;
      return { checkpoint: existing.checkpoint, seed: existing.seed };
    }
    const trust = this.trustOf(nodeId)?.trust ?? INITIAL_TRUST;
    if (!isReplicated(job.spec.training.seed, epoch, shard, spotCheckRate(replication, trust))) return null;
    const latest = (this.sql.latestCheckpoint.get(job.id) as { seq: number | null }).seq;
    if (latest === null) return null;
    const seed = replicaSeed(job.spec.training.seed, epoch, shard);
    this.sql.insertShard.run({ job: job.id, epoch, shard, checkpoint: latest, seed, now: this.now() });
    return { checkpoint: latest, seed };
  }

  /**
   * Records a replica lease's result and judges its shard. Verdicts are final once given; a
   * disagreement of two asks for a third replica; trust and credit move for each verdict given.
   */
  record(
    lease: LeaseRecord,
    result: {
      readonly loss: number;
      readonly samples: number;
      readonly update?: UpdateStatistics | undefined;
    },
    tolerance: number,
  ): ReplicaOutcome {
    const key = { job: lease.jobId, epoch: lease.epoch, shard: lease.shard };
    const now = this.now();
    this.sql.insertResult.run({
      lease: lease.id,
      ...key,
      node: lease.nodeId,
      loss: result.loss,
      statistics: result.update === undefined ? null : JSON.stringify(result.update),
      samples: result.samples,
      now,
    });
    const rows = this.sql.results.all(lease.jobId, lease.epoch, lease.shard) as ResultRow[];
    const results: ReplicaResult[] = rows.map((r) => ({
      id: r.lease_id,
      loss: r.loss,
      update: parseStatistics(r.statistics),
    }));
    const judgement = judgeReplicas(results, tolerance);
    const verdicts = new Map<string, 'valid' | 'invalid' | 'inconclusive'>();
    if (judgement.state === 'pending') {
      if (rows.length >= 2) this.sql.setShard.run({ ...key, wanted: MAX_REPLICAS, state: 'open' });
      return { distrusted: [], verdicts: [] };
    }
    if (judgement.state === 'valid') {
      for (const id of judgement.valid) verdicts.set(id, 'valid');
      for (const id of judgement.invalid) verdicts.set(id, 'invalid');
      this.sql.setShard.run({ ...key, wanted: Math.max(2, rows.length), state: 'valid' });
    } else {
      for (const id of judgement.invalid) verdicts.set(id, 'inconclusive');
      this.sql.setShard.run({ ...key, wanted: MAX_REPLICAS, state: 'inconclusive' });
    }
    const distrusted: string[] = [];
    const given: { nodeId: string; verdict: 'valid' | 'invalid' | 'inconclusive' }[] = [];
    for (const row of rows) {
      const verdict = verdicts.get(row.lease_id);
      // A verdict, once given, stands: a later replica does not judge earlier ones again.
      if (verdict === undefined || row.verdict !== 'pending') continue;
      this.sql.setVerdict.run({ lease: row.lease_id, verdict });
      given.push({ nodeId: row.node_id, verdict });
      if (this.judge(row.node_id, verdict, row.samples, now)) distrusted.push(row.node_id);
    }
    return { distrusted, verdicts: given };
  }

  /** Applies one verdict to the volunteer's trust and credit; true when it became distrusted now. */
  private judge(
    nodeId: string,
    verdict: 'valid' | 'invalid' | 'inconclusive',
    samples: number,
    now: number,
  ): boolean {
    const before = this.trustOf(nodeId)?.trust ?? INITIAL_TRUST;
    const trust = nextTrust(before, verdict);
    this.sql.upsertTrust.run({
      node: nodeId,
      trust,
      valid: verdict === 'valid' ? 1 : 0,
      invalid: verdict === 'invalid' ? 1 : 0,
      inconclusive: verdict === 'inconclusive' ? 1 : 0,
      credit: verdict === 'valid' ? samples : 0,
      now,
    });
    if (!isDistrusted(trust) || this.distrusted.has(nodeId)) return false;
    this.distrusted.add(nodeId);
    return true;
  }
}
