/**
 * Part 6, communication (issue 13 item 4): what each averaging setting puts on the wire per sample
 * trained, and what it costs in test accuracy, against dense fp32 after every shard. Every setting
 * trains the same gossip job (model, data, seed, shards) on virtual volunteers against one
 * coordinator; the full part runs the reference again at the end, so its two rows show the
 * run-to-run noise the other rows' accuracy differences are to be read against.
 */
import type { BenchOptions, BenchPart, PartResult } from '../part.ts';
import { BenchCoordinator } from '../training/coordinator.ts';
import { commMarkdown, commRows, type CommData } from './report.ts';
import { runComm, type CommRun } from './run.ts';
import {
  COMM_GOAL,
  FULL_SETTINGS,
  FULL_WORKLOAD,
  QUICK_SETTINGS,
  QUICK_WORKLOAD,
  REFERENCE,
} from './settings.ts';

export async function runCommPart(options: BenchOptions): Promise<CommData> {
  const workload = options.quick ? QUICK_WORKLOAD : FULL_WORKLOAD;
  const settings = options.quick ? QUICK_SETTINGS : FULL_SETTINGS;
  const repetitions = options.quick ? 1 : options.repetitions;
  const coordinator = await BenchCoordinator.start();
  const runs: CommRun[] = [];
  const errors: { setting: string; message: string }[] = [];
  try {
    // Repetitions interleaved: a slow spell of a shared machine falls on every setting alike.
    for (let rep = 1; rep <= repetitions; rep++) {
      for (const [i, setting] of settings.entries()) {
        options.log(
          `comm ${i + 1}/${settings.length}, run ${rep}/${repetitions}: ${setting.name} (${workload.preset}, ${workload.volunteers} volunteers)`,
        );
        try {
          const run = await runComm(coordinator, workload, setting, options.log);
          options.log(
            `  ${run.shards} shards in ${run.seconds.toFixed(0)} s, ${(run.bytesPerVolunteerPer1000Samples / 1024).toFixed(1)} KiB sent per volunteer per 1,000 samples, accuracy ${(100 * run.accuracy).toFixed(1)} %`,
          );
          runs.push(run);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          options.log(`  failed: ${message}`);
          errors.push({ setting: setting.name, message });
        }
      }
    }
  } finally {
    await coordinator.stop();
  }
  if (!runs.some((r) => r.setting === REFERENCE.name))
    throw new Error(`every reference run failed: ${errors[0]?.message ?? 'unknown'}`);
  return { workload, goal: COMM_GOAL, rows: commRows(runs), errors };
}

export const commPart: BenchPart = {
  name: 'comm',
  description:
    'communication: bytes per volunteer per 1,000 samples and test accuracy per codec and outer-optimizer setting',
  async run(options: BenchOptions): Promise<PartResult> {
    const data = await runCommPart(options);
    return { part: 'comm', markdown: commMarkdown(data), data };
  },
};
