/**
 * Part 1 of `npm run bench`, "Training vs one tab": does the swarm pay? The one-tab baseline
 * (TensorFlow.js model.fit) and tabswarm with 1, 2 and 4 volunteers train the same model on the
 * same data in the same run, repetitions interleaved so that load on the machine falls on all alike.
 */
import type { BenchOptions, BenchPart, PartResult } from '../part.ts';
import { runBaseline } from './baseline-run.ts';
import { presetReport, type ConfigurationRuns } from './report.ts';
import { budgetOf, EVAL_EVERY_SHARDS, shardSamples, trainingSetups, type TrainingSetup } from './setup.ts';
import { runSwarm, type RunResult } from './swarm-run.ts';

const NOTES = `CPU is every process of each Chromium (GPU, renderer and utility processes; /proc utime+stime,
reaped children included) plus the coordinator's, from job submission to the last counted sample;
the baseline's window runs from fetching the data to the end of model.fit. The metric is the
coordinator's evaluation of its checkpoints (averages of up to 3 volunteers' models, taken after
every shard) and of the baseline's weights at the same sample counts: test accuracy on MNIST's 2,000
test samples, held-out bits per character on the first 256 held-out windows of the corpus for
gpt-nano. The coordinator's evaluation CPU is counted for the swarm (a cost the product pays), the
baseline's is not. The volunteers' time is their trainer's phase, sampled every second.`;

/**
 * One run. The baseline runs first in each repetition and takes the trainer's own backend choice
 * (startBackend, as the volunteer's worker does) unless the setup pins one; the volunteers are then
 * pinned to the backend it got (the page's ?backend=), so both sides run on one backend.
 */
async function runOnce(
  setup: TrainingSetup,
  configuration: 'baseline' | number,
  backend: string | null,
  options: BenchOptions,
): Promise<RunResult> {
  if (configuration === 'baseline') {
    return runBaseline({
      setup,
      snapshotEvery: shardSamples(setup) * EVAL_EVERY_SHARDS,
      backend: setup.backend ?? null,
      log: options.log,
    });
  }
  const pageQuery = backend === null ? '' : `?backend=${encodeURIComponent(backend)}`;
  return runSwarm({ setup, volunteers: configuration, pageQuery, log: options.log });
}

export interface SetupResult {
  readonly markdown: string;
  readonly data: unknown;
}

/** The table and figures of `runs` (every configuration with the same number of repetitions). */
function setupResult(
  setup: TrainingSetup,
  configurations: readonly ('baseline' | number)[],
  runs: ReadonlyMap<'baseline' | number, readonly RunResult[]>,
): SetupResult {
  const byConfiguration: ConfigurationRuns[] = configurations.map((c) => ({
    configuration: c,
    runs: [...(runs.get(c) ?? [])],
  }));
  const trainSize = runs.get('baseline')?.[0]?.trainSize ?? 0;
  const budget = budgetOf(setup, trainSize);
  const report = presetReport(setup, budget, trainSize, byConfiguration);
  return {
    markdown: report.markdown,
    data: { setup, budget, summaries: report.summaries, runs: byConfiguration },
  };
}

/**
 * Every configuration of one preset, repetitions interleaved; its table and figures. After each
 * repetition but the last, `sofar` gets the table over the repetitions done.
 */
export async function runTrainingSetup(
  setup: TrainingSetup,
  options: BenchOptions,
  sofar: (partial: SetupResult) => void = () => undefined,
): Promise<SetupResult> {
  const configurations: ('baseline' | number)[] = ['baseline', ...setup.volunteers];
  const runs = new Map<'baseline' | number, RunResult[]>(configurations.map((c) => [c, []]));
  for (let rep = 1; rep <= setup.repetitions; rep++) {
    let backend: string | null = null;
    for (const configuration of configurations) {
      const what = configuration === 'baseline' ? 'one-tab baseline' : `${configuration} volunteer(s)`;
      options.log(`training ${setup.preset}: ${what}, repetition ${rep}/${setup.repetitions}`);
      const result = await runOnce(setup, configuration, backend, options);
      if (configuration === 'baseline') backend = result.backend;
      const cpu = (result.browserCpuSeconds ?? NaN) + (result.coordinatorCpuSeconds ?? NaN);
      options.log(
        `  ${result.samples} samples in ${result.wallSeconds.toFixed(1)} s, CPU ${cpu.toFixed(1)} s, ` +
          `last ${setup.metric} ${result.curve.at(-1)?.value.toFixed(4) ?? '—'}`,
      );
      runs.get(configuration)?.push(result);
    }
    if (rep < setup.repetitions) sofar(setupResult(setup, configurations, runs));
  }
  return setupResult(setup, configurations, runs);
}

export const TRAINING_NOTES = NOTES;

export const trainingPart: BenchPart = {
  name: 'training',
  description: 'training vs one tab: model.fit in one tab against tabswarm with 1, 2 and 4 volunteers',
  async run(options: BenchOptions): Promise<PartResult> {
    const results: SetupResult[] = [];
    const setups = trainingSetups(options.quick, options.repetitions).filter(
      (s) => options.presets === null || options.presets.includes(s.preset),
    );
    if (setups.length === 0)
      throw new Error(`--quick runs mnist-mlp only, not ${options.presets?.join(', ')}`);
    const combined = (all: readonly SetupResult[]): { markdown: string; data: unknown } => ({
      markdown: [...all.flatMap((r) => [r.markdown, '']), NOTES].join('\n'),
      data: all.map((r) => r.data),
    });
    for (const setup of setups) {
      const result = await runTrainingSetup(setup, options, (partial) =>
        options.progress?.(combined([...results, partial])),
      );
      results.push(result);
      options.progress?.(combined(results));
    }
    return { part: 'training', ...combined(results) };
  },
};
