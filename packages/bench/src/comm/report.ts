/** Part 6's table and its verdict against the goal; pure, so it is tested without training. */
import { markdownTable } from '../any/markdown.ts';
import type { CommRun } from './run.ts';
import { COMM_GOAL, REFERENCE_AGAIN, type CommWorkload } from './settings.ts';

export interface CommRow extends CommRun {
  /** bytesPerVolunteerPer1000Samples over the reference's. */
  readonly bytesVsReference: number;
  /** Accuracy minus the reference's, in percentage points. */
  readonly accuracyPoints: number;
  readonly meetsGoal: boolean;
}

export interface CommData {
  readonly workload: CommWorkload;
  readonly goal: typeof COMM_GOAL;
  readonly rows: readonly CommRow[];
  /** The settings that failed to run, with why. */
  readonly errors: readonly { readonly setting: string; readonly message: string }[];
}

export function commRows(reference: CommRun, runs: readonly CommRun[]): CommRow[] {
  return runs.map((run) => {
    const bytesVsReference =
      reference.bytesPerVolunteerPer1000Samples > 0
        ? run.bytesPerVolunteerPer1000Samples / reference.bytesPerVolunteerPer1000Samples
        : Number.NaN;
    const accuracyPoints = 100 * (run.accuracy - reference.accuracy);
    return {
      ...run,
      bytesVsReference,
      accuracyPoints,
      meetsGoal: bytesVsReference <= COMM_GOAL.bytesFraction && accuracyPoints >= -COMM_GOAL.accuracyPoints,
    };
  });
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const ratio = (x: number): string =>
  Number.isFinite(x) ? (x >= 0.1 ? x.toFixed(2) : `1/${(1 / x).toFixed(0)}`) : '–';
const points = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}`;

export function commMarkdown(data: CommData): string {
  const { workload, rows } = data;
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
      kb(r.bytesPerVolunteerPer1000Samples),
      ratio(r.bytesVsReference),
      `${(100 * r.accuracy).toFixed(1)} %`,
      points(r.accuracyPoints),
      String(r.exchangesApplied),
      r.seconds.toFixed(0),
    ]),
  );
  const meeting = rows.filter((r) => r.meetsGoal);
  const best = [...meeting].sort((a, b) => a.bytesVsReference - b.bytesVsReference)[0];
  const verdict =
    best !== undefined
      ? `Goal (≤ 1/${1 / data.goal.bytesFraction} of the reference's bytes within ${data.goal.accuracyPoints} points): met by ${meeting.map((r) => r.setting).join('; ')} — the cheapest, ${best.setting}, at ${ratio(best.bytesVsReference)} of the bytes, ${points(best.accuracyPoints)} points.`
      : `Goal (≤ 1/${1 / data.goal.bytesFraction} of the reference's bytes within ${data.goal.accuracyPoints} points): not met by any setting.`;
  const errors = data.errors.map((e) => `- ${e.setting} failed: ${e.message}`).join('\n');
  return (
    `### ${workload.preset}, ${workload.volunteers} virtual volunteers, ${workload.epochs} epoch(s) of shards of ${workload.localSteps} × 64 samples, seed 1\n\n` +
    `${table}\n\n${verdict}\n` +
    'Bytes: every byte the volunteers’ links sent (frames, chunk headers, control), per 1,000 samples trained; ' +
    'checkpoint uploads (one, at the end, the same for every setting) are not counted. Accuracy: the final checkpoint ' +
    'on the coordinator’s test set, one run per setting: read accuracy differences against the run-to-run noise' +
    (rows.some((r) => r.setting === REFERENCE_AGAIN.name)
      ? ' (the reference ran first and last: compare its two rows).\n'
      : '.\n') +
    (errors === '' ? '' : `\n${errors}\n`)
  );
}
