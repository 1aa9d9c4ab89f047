/**
 * Differential privacy on the wire: the job-spec option (the mechanism and its accounting are
 * @tabswarm/core's privacy.ts) and what a job reports of the privacy it has spent.
 */
import { z } from 'zod';

const positive = (what: string, max: number) =>
  z
    .number({ error: `${what} must be a number` })
    .refine(Number.isFinite, { error: `${what} must be finite` })
    .refine((v) => v > 0, { error: `${what} must be greater than 0` })
    .refine((v) => v <= max, { error: `${what} must be at most ${max}` });

/**
 * `privacy` in a job spec (absent: off). Each shard's update is clipped to `clipNorm` and Gaussian
 * noise of standard deviation `noiseMultiplier · clipNorm` is added in the tab, before the model
 * leaves it; the job reports the (ε, `delta`) spent so far.
 */
export const privacySpecSchema = z.strictObject({
  clipNorm: positive('privacy.clipNorm', 1e6),
  noiseMultiplier: positive('privacy.noiseMultiplier', 1e3),
  delta: z
    .number({ error: 'privacy.delta must be a number' })
    .refine(Number.isFinite, { error: 'privacy.delta must be finite' })
    .refine((v) => v > 0 && v < 0.01, { error: 'privacy.delta must be greater than 0 and below 0.01' })
    .default(1e-5),
});
export type PrivacySpec = z.output<typeof privacySpecSchema>;

/** What a job with `privacy` has spent: ε at δ after the most releases any one sample is in. */
export const privacySpentSchema = z.object({
  /** null when the bound is not finite (a noise multiplier too small to bound anything). */
  epsilon: z.number().finite().nonnegative().nullable(),
  delta: z.number().finite().positive(),
  /** Leases of the training shard leased most often: each may release a noised update of it. */
  releases: z.number().int().nonnegative(),
});
export type PrivacySpent = z.infer<typeof privacySpentSchema>;
export type PrivacySpecInput = z.input<typeof privacySpecSchema>;
