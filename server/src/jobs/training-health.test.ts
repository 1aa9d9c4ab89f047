import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@tabswarm/core';
import {
  DIVERGED_WINDOW,
  EXCHANGE_WINDOW,
  FAILED_ROUND_WINDOW,
  HEALTH_WINDOW,
  majorityRate,
  parameterFingerprint,
  trainingAlarms,
  type CheckpointObservation,
  type ExchangeVerdict,
  type HealthInput,
  type LeaseOutcome,
} from './training-health.ts';

/** A job that learns, as an mnist-mlp run here looks: noisy but improving losses, rising accuracy. */
function healthy(checkpointCount = 14, completionCount = 200): HealthInput {
  const random = mulberry32(7);
  const checkpoints: CheckpointObservation[] = [];
  for (let seq = 0; seq < checkpointCount; seq++) {
    const loss = 0.25 + 2.05 * Math.exp(-seq / 3) + 0.02 * random();
    checkpoints.push({
      seq,
      norm: 27.5 + seq * 0.37 + random() * 0.01,
      fingerprint: Math.floor(random() * 2 ** 32),
      loss,
      accuracy: Math.min(0.97, 0.1 + 0.85 * (1 - Math.exp(-seq / 2.5)) + 0.01 * random()),
    });
  }
  const leases: LeaseOutcome[] = Array.from({ length: completionCount }, (_, i) => ({
    loss: 0.2 + 2.1 * Math.exp(-i / 40) + 0.3 * random(),
  }));
  const outcomes: ExchangeVerdict[] = ['ok', 'ok', 'rejected', 'ok', 'ok', 'refused', 'ok', 'ok', 'ok', 'ok'];
  return {
    checkpoints,
    leases,
    rounds: checkpoints
      .slice(1)
      .map((_, i) => ({ accepted: i % 4 === 0 ? 1 : 2, rejected: i % 4 === 0 ? 1 : 0 })),
    exchanges: [...outcomes, ...outcomes, ...outcomes],
    majorityRate: 0.1135,
  };
}

const kinds = (input: HealthInput) => trainingAlarms(input).map((a) => a.kind);

/** The case: raw breast-cancer-like features, every checkpoint identical to checkpoint 0. */
function frozen(count = 13): CheckpointObservation[] {
  return Array.from({ length: count + 1 }, (_, seq) => ({
    seq,
    norm: 31.25,
    fingerprint: 0xdeadbeef,
    loss: 6.2210195,
    accuracy: 0.614,
  }));
}

describe('training-health verdicts', () => {
  it('stays quiet on a healthy, improving job', () => {
    expect(trainingAlarms(healthy())).toEqual([]);
    // Quiet from the start, too: short histories decide nothing.
    for (let n = 1; n <= 14; n++) expect(kinds(healthy(n, n * 12))).toEqual([]);
  });

  it('raises checkpoint-unchanged (not also test-loss-stalled) when N checkpoints are bit-identical', () => {
    const input = { ...healthy(), checkpoints: frozen(), majorityRate: null };
    const alarms = trainingAlarms(input);
    expect(alarms.map((a) => a.kind)).toEqual(['checkpoint-unchanged']);
    expect(alarms[0]?.observed).toContain('checkpoints 9–13 are bit-identical to checkpoint 8');
    expect(alarms[0]?.observed).toContain('6.2210');
    expect(alarms[0]?.advice).toMatch(/[Ss]tandardise/);
    expect(alarms[0]?.advice).toMatch(/learning rate/);
    // N − 1 identical checkpoints are not enough; one that moved clears it.
    expect(kinds({ ...input, checkpoints: frozen(HEALTH_WINDOW - 1) })).not.toContain('checkpoint-unchanged');
    const moved = frozen();
    moved[12] = { ...(moved[12] as CheckpointObservation), norm: 31.2500001 };
    expect(kinds({ ...input, checkpoints: moved })).not.toContain('checkpoint-unchanged');
    // Same norm, different bytes (where the fingerprint is known): changed.
    const shuffled = frozen();
    shuffled[13] = { ...(shuffled[13] as CheckpointObservation), fingerprint: 1 };
    expect(kinds({ ...input, checkpoints: shuffled })).not.toContain('checkpoint-unchanged');
    // After a restart, fingerprints are unknown: the stored norms decide.
    const restarted = frozen().map((c) => ({ ...c, fingerprint: null }));
    expect(kinds({ ...input, checkpoints: restarted })).toContain('checkpoint-unchanged');
  });

  it('raises test-loss-stalled when the test loss is flat or rising for N checkpoints', () => {
    const base = healthy(8);
    const best = base.checkpoints.at(-1) as CheckpointObservation;
    const rising = [...base.checkpoints];
    for (let i = 1; i <= HEALTH_WINDOW; i++)
      rising.push({
        ...best,
        seq: best.seq + i,
        norm: best.norm + i,
        fingerprint: i,
        loss: (best.loss ?? 0) + 0.05 * i,
      });
    const alarms = trainingAlarms({ ...base, checkpoints: rising });
    expect(alarms.map((a) => a.kind)).toEqual(['test-loss-stalled']);
    expect(alarms[0]?.observed).toMatch(/rising for 5 checkpoints: .* best .* at checkpoint 7/);
    // One new best in the window: progress, no alarm.
    const recovering = [...rising];
    recovering[recovering.length - 2] = {
      ...(recovering.at(-2) as CheckpointObservation),
      loss: (best.loss ?? 0) * 0.9,
    };
    expect(kinds({ ...base, checkpoints: recovering })).toEqual([]);
    // Flat: equal to the best within the tolerance.
    const flat = [...base.checkpoints];
    for (let i = 1; i <= HEALTH_WINDOW; i++)
      flat.push({
        ...best,
        seq: best.seq + i,
        norm: best.norm + i,
        fingerprint: i,
        loss: (best.loss ?? 0) * (1 - 1e-5),
      });
    expect(trainingAlarms({ ...base, checkpoints: flat })[0]?.observed).toMatch(/flat/);
  });

  it('raises training-loss-diverging for non-finite losses (DIVERGED releases) and for an exploding loss', () => {
    const base = healthy();
    const diverged: LeaseOutcome[] = [
      ...base.leases,
      { loss: 'diverged' },
      { loss: 0.3 },
      { loss: 'diverged' },
    ];
    const alarms = trainingAlarms({ ...base, leases: diverged });
    expect(alarms.map((a) => a.kind)).toEqual(['training-loss-diverging']);
    expect(alarms[0]?.observed).toContain('2 of the last 10 shards ended with a non-finite training loss');
    // One tab's one NaN is not the job's problem; nor are two that have scrolled out of the window.
    expect(kinds({ ...base, leases: [...base.leases, { loss: 'diverged' }] })).toEqual([]);
    const old = [...diverged, ...Array.from({ length: DIVERGED_WINDOW }, () => ({ loss: 0.3 }))];
    expect(kinds({ ...base, leases: old })).toEqual([]);

    const exploding = [...base.leases, ...[3, 8, 20, 60, 150].map((loss) => ({ loss }))];
    const boom = trainingAlarms({ ...base, leases: exploding });
    expect(boom.map((a) => a.kind)).toEqual(['training-loss-diverging']);
    expect(boom[0]?.observed).toMatch(/median training loss of the last 5 shards is 20\.0000, \d+× its best/);
    const huge = Array.from({ length: HEALTH_WINDOW }, () => ({ loss: 1e9 }));
    expect(kinds({ ...base, leases: huge })).toEqual(['training-loss-diverging']);
  });

  it('raises contributions-rejected when every checkpoint upload or every exchange is refused', () => {
    const base = healthy();
    const failed = Array.from({ length: FAILED_ROUND_WINDOW }, () => ({ accepted: 0, rejected: 2 }));
    const alarms = trainingAlarms({ ...base, rounds: [...base.rounds, ...failed] });
    expect(alarms.map((a) => a.kind)).toEqual(['contributions-rejected']);
    expect(alarms[0]?.observed).toContain(
      'the last 3 checkpoint rounds accepted no upload (6 refused or missing)',
    );
    expect(alarms[0]?.advice).toMatch(/learning rate/);
    // One round in the window accepted something: quiet.
    const mixed = [...base.rounds, ...failed];
    mixed[mixed.length - 2] = { accepted: 1, rejected: 1 };
    expect(kinds({ ...base, rounds: mixed })).toEqual([]);

    const refused: ExchangeVerdict[] = Array.from({ length: EXCHANGE_WINDOW }, (_, i) =>
      i % 3 ? 'rejected' : 'refused',
    );
    const exchanges = trainingAlarms({ ...base, exchanges: [...base.exchanges, ...refused] });
    expect(exchanges.map((a) => a.observed)).toEqual([
      expect.stringContaining('last 10 averaging exchanges'),
    ]);
    expect(kinds({ ...base, exchanges: [...base.exchanges, ...refused.slice(1), 'ok'] })).toEqual([]);
  });

  it('raises majority-class when accuracy sits at the majority-class rate for N checkpoints', () => {
    const stuck = frozen().map((c, i) => ({
      ...c,
      norm: c.norm + i,
      fingerprint: i,
      loss: 0.66 - i * 1e-3,
      accuracy: 0.614,
    }));
    const alarms = trainingAlarms({ ...healthy(), checkpoints: stuck, majorityRate: 0.6140351 });
    expect(alarms.map((a) => a.kind)).toEqual(['majority-class']);
    expect(alarms[0]?.observed).toContain('test accuracy 61.4 % at checkpoint 13');
    expect(alarms[0]?.observed).toContain('scores: 61.4 %');
    // Clearly above it: learning.
    const better = stuck.map((c, i) => (i === 11 ? { ...c, accuracy: 0.7 } : c));
    expect(kinds({ ...healthy(), checkpoints: better, majorityRate: 0.6140351 })).toEqual([]);
    // Unknown rate: nothing to compare with.
    expect(kinds({ ...healthy(), checkpoints: stuck, majorityRate: null })).toEqual([]);
  });

  it('computes the majority-class rate and a fingerprint of the exact bits', () => {
    expect(majorityRate(new Int32Array([1, 0, 1, 1, 2]))).toBeCloseTo(0.6);
    expect(majorityRate([])).toBeNull();
    const a = new Float32Array([1, 2, 3, -0]);
    expect(parameterFingerprint(a)).toBe(parameterFingerprint(a.slice()));
    expect(parameterFingerprint(a)).not.toBe(parameterFingerprint(new Float32Array([1, 2, 3, 0])));
    expect(parameterFingerprint(a.subarray(1))).toBe(parameterFingerprint(new Float32Array([2, 3, -0])));
  });
});
