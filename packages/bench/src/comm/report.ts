/** Part 6's table and its verdict against the goal; pure, so it is tested without training. */
import { markdownTable } from '../any/markdown.ts';
import { timing } from '../any/stats.ts';
import type { Timing } from '../part.ts';
import type { CommRun } from './run.ts';
import { COMM_GOAL, REFERENCE, REFERENCE_AGAIN, type CommWorkload } from './settings.ts';

/** One setting over its repetitions: medians with min–max. */
export interface CommRow {
  readonly setting: string;
  readonly runs: readonly CommRun[];
  readonly bytesPerVolunteerPer1000Samples: Timing;
  readonly accuracy: Timing;
  /** Median bytes over the reference's median. */
  readonly bytesVsReference: number;
  /** Median accuracy minus the reference's median, in percentage points. */
  readonly accuracyPoints: number;
  readonly meetsGoal: boolean;
}

export interface CommData {
  readonly workload: CommWorkload;
  readonly goal: typeof COMM_GOAL;
  readonly rows: readonly CommRow[];
  /** The runs that failed, with why. */
  readonly errors: readonly { readonly setting: string; readonly message: string }[];
}

/** Rows in the order the settings first appear in `runs`, judged against the reference's row. */
export function commRows(runs: readonly CommRun[]): CommRow[] {
  const bySetting = new Map<string, CommRun[]>();
  for (const run of runs) bySetting.set(run.setting, [...(bySetting.get(run.setting) ?? []), run]);
  const summaries = [...bySetting].map(([setting, settingRuns]) => ({
    setting,
    runs: settingRuns,
    bytesPerVolunteerPer1000Samples: timing(settingRuns.map((r) => r.bytesPerVolunteerPer1000Samples)),
    accuracy: timing(settingRuns.map((r) => r.accuracy)),
  }));
  const reference = summaries.find((s) => s.setting === REFERENCE.name);
  if (reference === undefined) throw new Error('no reference run to compare with');
  return summaries.map((s) => {
    const bytesVsReference =
      reference.bytesPerVolunteerPer1000Samples.median > 0
        ? s.bytesPerVolunteerPer1000Samples.median / reference.bytesPerVolunteerPer1000Samples.median
        : Number.NaN;
    const accuracyPoints = 100 * (s.accuracy.median - reference.accuracy.median);
    return {
      ...s,
      bytesVsReference,
      accuracyPoints,
      // 1e-9: "within 0.5 points" includes 0.5 itself, whatever the floating point.
      meetsGoal:
        bytesVsReference <= COMM_GOAL.bytesFraction && accuracyPoints >= -COMM_GOAL.accuracyPoints - 1e-9,
    };
  });
}

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const ratio = (x: number): string =>
  Number.isFinite(x) ? (x >= 0.1 ? x.toFixed(2) : `1/${(1 / x).toFixed(0)}`) : '–';
const points = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}`;
const percent = (t: Timing): string =>
  t.repetitions > 1
    ? `${(100 * t.median).toFixed(1)} % (${(100 * t.min).toFixed(1)}–${(100 * t.max).toFixed(1)})`
    : `${(100 * t.median).toFixed(1)} %`;
const median = (values: readonly number[]): number => timing(values).median;

export function commMarkdown(data: CommData): string {
  const { workload, rows } = data;
  const repetitions = Math.max(...rows.map((r) => r.runs.length));
  const table = markdownTable(
    [
      'setting',
      'sent / volunteer / 1,000 samples',
      'of reference',
      'test accuracy',
      'Δ points',
      'exchanges',
      's',
    ],
    rows.map((r) => [
      r.setting,
      kib(r.bytesPerVolunteerPer1000Samples.median),
      ratio(r.bytesVsReference),
      percent(r.accuracy),
      points(r.accuracyPoints),
      String(median(r.runs.map((run) => run.exchangesApplied))),
      median(r.runs.map((run) => run.seconds)).toFixed(0),
    ]),
  );
  const meeting = rows.filter((r) => r.meetsGoal);
  const best = [...meeting].sort((a, b) => a.bytesVsReference - b.bytesVsReference)[0];
  const goal = `Goal (≤ 1/${1 / data.goal.bytesFraction} of the reference's bytes within ${data.goal.accuracyPoints} points of its accuracy)`;
  const verdict =
    best !== undefined
      ? `${goal}: met by ${meeting.map((r) => r.setting).join('; ')} — the cheapest, ${best.setting}, at ${ratio(best.bytesVsReference)} of the bytes, ${points(best.accuracyPoints)} points.`
      : `${goal}: not met by any setting.`;
  const errors = data.errors.map((e) => `- ${e.setting} failed: ${e.message}`).join('\n');
  return (
    `### ${workload.preset}, ${workload.volunteers} virtual volunteers, ${workload.epochs} epoch(s) of shards of ${workload.localSteps} × 64 samples, seed 1, ${repetitions} run(s) per setting\n\n` +
    `${table}\n\n${verdict}\n` +
    'Bytes: every byte the volunteers’ links sent (frames, chunk headers, control), per 1,000 samples trained; ' +
    'checkpoint uploads (one, at the end, the same for every setting) are not counted. Accuracy: the final checkpoint ' +
    'on the coordinator’s test set (median, min–max over the runs); figures are medians, settings interleaved. ' +
    'Read accuracy differences against the run-to-run noise' +
    (rows.some((r) => r.setting === REFERENCE_AGAIN.name)
      ? ' (the reference runs first and last in each round: compare its two rows).\n'
      : '.\n') +
    (errors === '' ? '' : `\n${errors}\n`)
  );
}
