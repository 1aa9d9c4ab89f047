/**
 * Validated work on the wire: the job-spec option that turns replication on, what a replicated
 * lease names and what its completion reports, and the per-volunteer trust and credit the
 * coordinator shows. The rules that judge them are @tabswarm/core's validation.ts.
 */
import { z } from 'zod';

/** Projections a replica reports (core's VALIDATION_PROJECTIONS; checked there against this). */
export const UPDATE_PROJECTIONS = 4;

const fraction = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .refine(Number.isFinite, { error: `${what} must be finite` })
    .refine((v) => v >= 0 && v <= 1, { error: `${what} must be between 0 and 1` });

/**
 * `validation` in a job spec (absent: no replication, as before). `replication` is the fraction
 * of shards that a second volunteer also trains from the same checkpoint, for volunteers at the
 * initial trust (trusted ones are checked less, down to a tenth of it); `tolerance` is how far
 * two replicas' loss and update statistics may differ, relative to the larger.
 */
export const validationSpecSchema = z.strictObject({
  replication: fraction('validation.replication'),
  tolerance: z
    .number({ error: 'validation.tolerance must be a number' })
    .refine(Number.isFinite, { error: 'validation.tolerance must be finite' })
    .refine((v) => v > 0 && v <= 1, { error: 'validation.tolerance must be greater than 0 and at most 1' })
    .default(0.05),
});
export type ValidationSpec = z.output<typeof validationSpecSchema>;

/** A replicated lease: train it from checkpoint `checkpoint` with a fresh optimizer, report its statistics. */
export const replicaGrantSchema = z.strictObject({
  checkpoint: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  /** The seed of the projections (core's replicaSeed of the job seed, epoch and shard). */
  seed: z.number().int().min(0).max(0xffffffff),
});
export type ReplicaGrant = z.infer<typeof replicaGrantSchema>;

const statistic = z
  .number({ error: 'update statistics must be numbers' })
  .refine(Number.isFinite, { error: 'update statistics must be finite' })
  .refine((v) => Math.abs(v) <= 1e15, { error: 'update statistics must be at most 1e15' });

/** What a replicated lease's completion reports of its update (core's UpdateStatistics). */
export const updateStatisticsSchema = z.strictObject({
  norm: statistic.refine((v) => v >= 0, { error: 'update.norm must not be negative' }),
  projections: z.array(statistic).length(UPDATE_PROJECTIONS, {
    error: `update.projections must hold ${UPDATE_PROJECTIONS} numbers`,
  }),
});

export const TRUST_STANDINGS = ['trusted', 'new', 'distrusted'] as const;

/** A volunteer's standing with the coordinator (node info, REST, dashboard). */
export const volunteerTrustSchema = z.object({
  trust: z.number().finite().min(0).max(1),
  standing: z.enum(TRUST_STANDINGS),
  /** Replica results that agreed, were outvoted, and were inconclusive. */
  valid: z.number().int().nonnegative(),
  invalid: z.number().int().nonnegative(),
  inconclusive: z.number().int().nonnegative(),
  /** Samples of its validated work: its credit. */
  credit: z.number().int().nonnegative(),
});
export type VolunteerTrust = z.infer<typeof volunteerTrustSchema>;

/** GET /api/credit: every volunteer the coordinator has judged, most credit first. */
export const contributorSchema = volunteerTrustSchema.extend({
  nodeId: z.string().max(128),
  label: z.string().max(256).nullable(),
});
export type Contributor = z.infer<typeof contributorSchema>;
export const creditReplySchema = z.object({ contributors: z.array(contributorSchema).max(100_000) });
export type UpdateStatistics = z.infer<typeof updateStatisticsSchema>;

/** GET /api/credit/:nodeId: one volunteer's standing; trust null while none of its work was judged. */
export const nodeCreditReplySchema = z.object({
  nodeId: z.string().max(128),
  trust: volunteerTrustSchema.nullable(),
});
export type NodeCreditReply = z.infer<typeof nodeCreditReplySchema>;
