import { describe, expect, it } from 'vitest';
import { jobSpecSchema } from './job-spec.ts';
import { parsePayload } from './schemas.ts';

describe('privacy in a job spec', () => {
  it('is off unless given', () => {
    expect(jobSpecSchema.parse({ name: 'x' }).privacy).toBeUndefined();
  });

  it('takes a clip norm and a noise multiplier, δ 1e-5 by default', () => {
    expect(
      jobSpecSchema.parse({ name: 'x', privacy: { clipNorm: 1, noiseMultiplier: 1.1 } }).privacy,
    ).toEqual({ clipNorm: 1, noiseMultiplier: 1.1, delta: 1e-5 });
  });

  it.each([
    [{ clipNorm: 0, noiseMultiplier: 1 }, 'privacy.clipNorm: privacy.clipNorm must be greater than 0'],
    [{ clipNorm: -1, noiseMultiplier: 1 }, 'privacy.clipNorm: privacy.clipNorm must be greater than 0'],
    [
      { clipNorm: 1, noiseMultiplier: 0 },
      'privacy.noiseMultiplier: privacy.noiseMultiplier must be greater than 0',
    ],
    [
      { clipNorm: 1, noiseMultiplier: 1e4 },
      'privacy.noiseMultiplier: privacy.noiseMultiplier must be at most 1000',
    ],
    [
      { clipNorm: 1, noiseMultiplier: '1' },
      'privacy.noiseMultiplier: privacy.noiseMultiplier must be a number',
    ],
    [
      { clipNorm: 1, noiseMultiplier: 1, delta: 0 },
      'privacy.delta: privacy.delta must be greater than 0 and below 0.01',
    ],
    [
      { clipNorm: 1, noiseMultiplier: 1, delta: 0.5 },
      'privacy.delta: privacy.delta must be greater than 0 and below 0.01',
    ],
    [{ noiseMultiplier: 1 }, 'privacy.clipNorm: privacy.clipNorm must be a number'],
    [{ clipNorm: 1, noiseMultiplier: 1, epsilon: 3 }, 'privacy: Unrecognized key: "epsilon"'],
  ])('refuses %j with the field in the message', (privacy, message) => {
    expect(parsePayload(jobSpecSchema, { name: 'x', privacy })).toEqual({
      ok: false,
      code: 'BAD_REQUEST',
      message,
    });
  });

  it('refuses privacy with validation: replicas compare un-noised updates', () => {
    const parsed = parsePayload(jobSpecSchema, {
      name: 'x',
      privacy: { clipNorm: 1, noiseMultiplier: 1 },
      validation: { replication: 0.2 },
    });
    expect(parsed).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(parsed.ok === false && parsed.message).toMatch(
      /^privacy: privacy cannot be combined with validation/,
    );
  });
});
