// The submit form's validated-work fields: off when empty, the spec's option otherwise, and the
// coordinator's message for a bad value lands on its field.
import { describe, expect, it } from 'vitest';
import { jobSpecSchema, parsePayload } from '@tabswarm/protocol';
import { fieldForPath, formToSpec, specToForm, splitServerMessage } from './job-form.ts';

const defaults = specToForm(jobSpecSchema.parse({ name: 'job' }));

describe('validated work in the job form', () => {
  it('is off when replication is empty', () => {
    expect(defaults.replication).toBe('');
    expect(formToSpec(defaults)).not.toHaveProperty('validation');
  });

  it('sends replication and tolerance, and round-trips a spec that has them', () => {
    const spec = jobSpecSchema.parse(formToSpec({ ...defaults, replication: '0.2' }));
    expect(spec.validation).toEqual({ replication: 0.2, tolerance: 0.05 });
    const form = specToForm(
      jobSpecSchema.parse({ name: 'x', validation: { replication: 0.5, tolerance: 0.1 } }),
    );
    expect([form.replication, form.validationTolerance]).toEqual(['0.5', '0.1']);
    expect(jobSpecSchema.parse(formToSpec(form)).validation).toEqual({ replication: 0.5, tolerance: 0.1 });
  });

  it("puts the coordinator's refusal of a bad replication on its field", () => {
    const parsed = parsePayload(jobSpecSchema, formToSpec({ ...defaults, replication: '2' }));
    expect(parsed.ok).toBe(false);
    const { path, text } = splitServerMessage(parsed.ok ? '' : parsed.message);
    expect(path).toBe('validation.replication');
    expect(text).toContain('between 0 and 1');
    expect(fieldForPath(path ?? '', defaults)).toBe('replication');
  });
});

describe('differential privacy in the job form', () => {
  it('is off when the clip norm and the multiplier are empty', () => {
    expect([defaults.clipNorm, defaults.noiseMultiplier, defaults.privacyDelta]).toEqual(['', '', '']);
    expect(formToSpec(defaults)).not.toHaveProperty('privacy');
  });

  it('sends the settings, δ by default, and round-trips a spec that has them', () => {
    const spec = jobSpecSchema.parse(formToSpec({ ...defaults, clipNorm: '1', noiseMultiplier: '1.1' }));
    expect(spec.privacy).toEqual({ clipNorm: 1, noiseMultiplier: 1.1, delta: 1e-5 });
    const form = specToForm(
      jobSpecSchema.parse({ name: 'x', privacy: { clipNorm: 0.5, noiseMultiplier: 2, delta: 1e-6 } }),
    );
    expect([form.clipNorm, form.noiseMultiplier, form.privacyDelta]).toEqual(['0.5', '2', '0.000001']);
    expect(jobSpecSchema.parse(formToSpec(form)).privacy).toEqual({
      clipNorm: 0.5,
      noiseMultiplier: 2,
      delta: 1e-6,
    });
  });

  it("puts the coordinator's refusal of a missing multiplier on its field", () => {
    const parsed = parsePayload(jobSpecSchema, formToSpec({ ...defaults, clipNorm: '1' }));
    expect(parsed.ok).toBe(false);
    const { path, text } = splitServerMessage(parsed.ok ? '' : parsed.message);
    expect(path).toBe('privacy.noiseMultiplier');
    expect(text).toContain('must be a number');
    expect(fieldForPath(path ?? '', defaults)).toBe('noiseMultiplier');
  });
});
