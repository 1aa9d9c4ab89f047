import { describe, expect, it } from 'vitest';
import { presetReport, reportedCounts, summarize, type ConfigurationRuns } from './report.ts';
import type { RunResult } from './swarm-run.ts';
import type { TrainingSetup } from './setup.ts';

const run = (over: Partial<RunResult>): RunResult => ({
  wallSeconds: 10,
  browserCpuSeconds: 9,
  coordinatorCpuSeconds: 1,
  samples: 1000,
  trainSize: 8000,
  curve: [],
  backend: 'webgpu',
  phases: {},
  ...over,
});

const setup: TrainingSetup = {
  preset: 'mnist-mlp',
  dataset: 'mnist',
  learningRate: 0.003,
  batchSize: 64,
  localSteps: 25,
  metric: 'accuracy',
  epochs: 2,
  target: 0.9,
  volunteers: [2],
  repetitions: 1,
};

describe('part 1 report', () => {
  it('counts CPU per sample from browsers and coordinator together', () => {
    const s = summarize({ configuration: 2, runs: [run({})] }, [], setup);
    expect(s.cpuMsPerSample?.median).toBeCloseTo(10); // (9 + 1) s · 1000 / 1000 samples
    expect(s.coordinatorMsPerSample?.median).toBeCloseTo(1);
    expect(s.samplesPerSecond.median).toBeCloseTo(100);
  });

  it('finds the first evaluation at the target, and says when a run never got there', () => {
    const curve = [
      { samples: 1600, value: 0.8 },
      { samples: 3200, value: 0.91 },
      { samples: 4800, value: 0.95 },
    ];
    expect(summarize({ configuration: 1, runs: [run({ curve })] }, [3200], setup).samplesToTarget).toBe(3200);
    const missed = summarize({ configuration: 1, runs: [run({ curve }), run({ curve: [] })] }, [], setup);
    expect(missed.samplesToTarget).toBeNull();
    expect(missed.reachedTarget).toBe(1);
  });

  it('counts a language model to its target from above: bits per character fall to it', () => {
    const lm: TrainingSetup = {
      ...setup,
      preset: 'gpt-nano',
      metric: 'bits/char',
      target: 4.19,
      batchSize: 16,
      localSteps: 10,
    };
    const curve = [
      { samples: 160, value: 4.6 },
      { samples: 320, value: 4.3 },
      { samples: 480, value: 4.1 },
    ];
    expect(summarize({ configuration: 1, runs: [run({ curve })] }, [], lm).samplesToTarget).toBe(480);
    const { markdown } = presetReport(lm, 480, 20_000, [
      { configuration: 'baseline', runs: [run({ curve })] },
      { configuration: 2, runs: [run({ curve })] },
    ]);
    expect(markdown).toContain('bits/char @ 320');
    expect(markdown).toContain('samples to 4.19 bits/char');
    expect(markdown).toMatch(/\|\s+4\.300 \|/);
  });

  it('reports epochs for long runs and every shard for short ones', () => {
    expect(reportedCounts(16_000, 8_000, 1_600)).toEqual([8_000, 16_000]);
    expect(reportedCounts(3_200, 8_000, 1_600)).toEqual([1_600, 3_200]);
  });

  it('says the goals were missed, and by how much, when the swarm costs more', () => {
    const curve = [
      { samples: 1600, value: 0.95 },
      { samples: 3200, value: 0.96 },
    ];
    const configurations: ConfigurationRuns[] = [
      { configuration: 'baseline', runs: [run({ curve })] },
      // 1.5× the CPU per sample and twice the samples to the target.
      {
        configuration: 2,
        runs: [
          run({
            browserCpuSeconds: 14,
            curve: curve.map((p, i) => ({ ...p, value: i === 0 ? 0.5 : 0.95 })),
          }),
        ],
      },
    ];
    const { markdown } = presetReport(setup, 3_200, 8_000, configurations);
    expect(markdown).toContain('distribution overhead 1.50× — missed by 0.35×');
    expect(markdown).toContain('samples to target 2.00× — missed by 0.80×');
    const cheap: ConfigurationRuns[] = [
      configurations[0] as ConfigurationRuns,
      { configuration: 2, runs: [run({ curve })] },
    ];
    expect(presetReport(setup, 3_200, 8_000, cheap).markdown).toContain('distribution overhead 1.00× — met');
  });
});
