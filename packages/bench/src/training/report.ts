/**
 * Part 1's tables: per preset, each configuration's throughput, CPU cost per sample, the metric
 * (accuracy, or bits per character) at equal samples seen and samples to the target, each against the one-tab baseline, with notes that
 * say which goal was met or missed and by how much.
 */
import type { Timing } from '../part.ts';
import { formatTiming, timing } from '../any/stats.ts';
import { markdownTable } from '../any/markdown.ts';
import type { CurvePoint, RunResult } from './swarm-run.ts';
import { reachesTarget, shardSamples, type TrainingSetup } from './setup.ts';

/** Goals of issue 12, part 1. */
export const OVERHEAD_GOAL = 1.15;
export const SAMPLES_TO_TARGET_GOAL = 1.2;

export interface ConfigurationRuns {
  /** 'baseline' or the number of volunteers. */
  readonly configuration: 'baseline' | number;
  readonly runs: readonly RunResult[];
}

export interface ConfigurationSummary {
  readonly label: string;
  readonly samplesPerSecond: Timing;
  /** Milliseconds of CPU per training sample, browsers and coordinator together. */
  readonly cpuMsPerSample: Timing | null;
  readonly coordinatorMsPerSample: Timing | null;
  /** Median of the metric over the runs at each reported sample count (null: no evaluation there). */
  readonly metricAt: readonly (number | null)[];
  /** Median over runs of the first evaluated sample count at or above the target; null if a run never did. */
  readonly samplesToTarget: number | null;
  readonly reachedTarget: number;
  readonly phases: Readonly<Record<string, number>>;
  readonly backends: readonly string[];
}

const median = (values: readonly number[]): number => timing(values).median;

/** The metric after `samples`: the evaluation at that count, else none (grids differ only past the end). */
function metricAt(curve: readonly CurvePoint[], samples: number): number | null {
  return curve.find((p) => p.samples === samples)?.value ?? null;
}

function samplesToTarget(curve: readonly CurvePoint[], setup: TrainingSetup): number | null {
  return curve.find((p) => reachesTarget(setup, p.value))?.samples ?? null;
}

/** The sample counts the metric's columns report: each epoch's end, or each shard in a short run. */
export function reportedCounts(budget: number, trainSize: number, shard: number): number[] {
  const step = budget >= 2 * trainSize ? trainSize : shard;
  const counts: number[] = [];
  for (let s = step; s <= budget; s += step) counts.push(s);
  return counts;
}

export function summarize(
  config: ConfigurationRuns,
  counts: readonly number[],
  setup: TrainingSetup,
): ConfigurationSummary {
  const { runs } = config;
  const cpu = runs.map((r) =>
    r.browserCpuSeconds === null || r.coordinatorCpuSeconds === null
      ? null
      : ((r.browserCpuSeconds + r.coordinatorCpuSeconds) * 1000) / r.samples,
  );
  const measured = cpu.every((c) => c !== null);
  const toTarget = runs.map((r) => samplesToTarget(r.curve, setup));
  const reached = toTarget.filter((s): s is number => s !== null);
  const phaseTotals: Record<string, number> = {};
  for (const r of runs)
    for (const [p, f] of Object.entries(r.phases)) phaseTotals[p] = (phaseTotals[p] ?? 0) + f / runs.length;
  return {
    label:
      config.configuration === 'baseline'
        ? 'one tab, model.fit'
        : `tabswarm, ${config.configuration} volunteer${config.configuration === 1 ? '' : 's'}`,
    samplesPerSecond: timing(runs.map((r) => r.samples / r.wallSeconds)),
    cpuMsPerSample: measured ? timing(cpu) : null,
    coordinatorMsPerSample: measured
      ? timing(runs.map((r) => ((r.coordinatorCpuSeconds as number) * 1000) / r.samples))
      : null,
    metricAt: counts.map((n) => {
      const values = runs.map((r) => metricAt(r.curve, n)).filter((a): a is number => a !== null);
      return values.length === 0 ? null : median(values);
    }),
    samplesToTarget: reached.length === runs.length ? median(reached) : null,
    reachedTarget: reached.length,
    phases: phaseTotals,
    backends: [...new Set(runs.map((r) => r.backend ?? 'unknown'))],
  };
}

const pct = (x: number | null): string => (x === null ? '—' : `${(x * 100).toFixed(1)} %`);
const bits = (x: number | null): string => (x === null ? '—' : x.toFixed(3));
/** A metric value as the table shows it; the target as its column says it. */
const formatMetric = (setup: TrainingSetup, x: number | null): string =>
  setup.metric === 'accuracy' ? pct(x) : bits(x);
const targetLabel = (setup: TrainingSetup): string =>
  setup.metric === 'accuracy'
    ? `${(setup.target * 100).toFixed(0)} %`
    : `${setup.target.toFixed(2)} bits/char`;
const thousands = (n: number): string => n.toLocaleString('en-US');
const ratio = (x: number): string => `${x.toFixed(2)}×`;

function phaseText(phases: Readonly<Record<string, number>>): string {
  const entries = Object.entries(phases).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? '—' : entries.map(([p, f]) => `${p} ${(f * 100).toFixed(0)} %`).join(', ');
}

export interface PresetReport {
  readonly markdown: string;
  readonly summaries: readonly ConfigurationSummary[];
}

export function presetReport(
  setup: TrainingSetup,
  budget: number,
  trainSize: number,
  configurations: readonly ConfigurationRuns[],
): PresetReport {
  const counts = reportedCounts(budget, trainSize, shardSamples(setup));
  const summaries = configurations.map((c) => summarize(c, counts, setup));
  const base = summaries[0] as ConfigurationSummary;
  const rows = summaries.map((s, i) => {
    const overhead =
      s.cpuMsPerSample && base.cpuMsPerSample ? s.cpuMsPerSample.median / base.cpuMsPerSample.median : null;
    const toTarget =
      s.samplesToTarget !== null && base.samplesToTarget !== null
        ? s.samplesToTarget / base.samplesToTarget
        : null;
    return [
      s.label,
      formatTiming(s.samplesPerSecond, 0),
      s.cpuMsPerSample ? formatTiming(s.cpuMsPerSample, 2) : 'n/a',
      s.coordinatorMsPerSample ? s.coordinatorMsPerSample.median.toFixed(2) : 'n/a',
      i === 0 ? '1 (baseline)' : overhead === null ? 'n/a' : ratio(overhead),
      ...s.metricAt.map((x) => formatMetric(setup, x)),
      s.samplesToTarget === null
        ? `not reached (${s.reachedTarget}/${configurations[i]?.runs.length ?? 0} runs)`
        : thousands(s.samplesToTarget),
      i === 0 ? '1 (baseline)' : toTarget === null ? '—' : ratio(toTarget),
    ];
  });
  const header = [
    'configuration',
    'samples/s',
    'CPU ms/sample',
    'of which coordinator',
    `CPU vs baseline (goal ≤ ${OVERHEAD_GOAL}×)`,
    ...counts.map((n) => `${setup.metric === 'accuracy' ? 'acc.' : 'bits/char'} @ ${thousands(n)}`),
    `samples to ${targetLabel(setup)}`,
    `vs baseline (goal ≤ ${SAMPLES_TO_TARGET_GOAL}×)`,
  ];
  const reps = configurations[0]?.runs.length ?? 0;
  const notes: string[] = [];
  summaries.slice(1).forEach((s) => {
    if (s.cpuMsPerSample && base.cpuMsPerSample) {
      const o = s.cpuMsPerSample.median / base.cpuMsPerSample.median;
      notes.push(
        `- ${s.label}: distribution overhead ${ratio(o)} — ${o <= OVERHEAD_GOAL ? 'met' : `missed by ${ratio(o - OVERHEAD_GOAL)} (${((o / OVERHEAD_GOAL - 1) * 100).toFixed(0)} % over the goal)`}; ` +
          (s.samplesToTarget !== null && base.samplesToTarget !== null
            ? (() => {
                const t = s.samplesToTarget / base.samplesToTarget;
                return `samples to target ${ratio(t)} — ${t <= SAMPLES_TO_TARGET_GOAL ? 'met' : `missed by ${ratio(t - SAMPLES_TO_TARGET_GOAL)}`}`;
              })()
            : `samples to target: ${s.samplesToTarget === null ? 'the swarm did not reach the target in every run' : 'the baseline did not reach the target'}`) +
          `; volunteers' time: ${phaseText(s.phases)}.`,
      );
    }
  });
  const backends = [...new Set(summaries.flatMap((s) => s.backends))];
  const title =
    `### ${setup.preset}: ${thousands(budget)} samples per run` +
    `${budget % trainSize === 0 ? ` (${budget / trainSize} epoch${budget === trainSize ? '' : 's'} of ${thousands(trainSize)})` : ''}` +
    `, ${reps} repetition${reps === 1 ? '' : 's'}, backend ${backends.join(' / ')}`;
  const markdown = [
    title,
    '',
    markdownTable(header, rows),
    '',
    ...notes,
    ...(backends.length > 1
      ? ['- The configurations did not all run on one backend: the comparison is not like for like.']
      : []),
  ].join('\n');
  return { markdown, summaries };
}
