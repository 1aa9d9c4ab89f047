/**
 * `npm run simulate -- [options]`: parses the options (exit 2 on a bad one, before anything
 * starts), runs the simulation with a progress line, stops it on Ctrl-C through the harness's
 * AbortSignal, and always writes the report of what it has. Exit codes: 0 completed, 1 failed or
 * timed out, 2 bad options, 130 interrupted.
 */
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseOptions } from './options.ts';
import { ProgressLine, type ProgressStream } from './progress-line.ts';
import type { SimulationPlan } from './plan.ts';
import type { SimulationOutcome, SimulationRecord } from './record.ts';
import { writeReport } from './report-json.ts';
import type { SimulationHooks } from './run-simulation.ts';
import { formatSummaryTable } from './summary-table.ts';

export const EXIT_CODES: Record<SimulationOutcome, number> = {
  completed: 0,
  failed: 1,
  timeout: 1,
  interrupted: 130,
};
export const EXIT_BAD_OPTIONS = 2;

export interface CliDeps {
  readonly run: (plan: SimulationPlan, hooks: SimulationHooks) => Promise<SimulationRecord>;
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
  /** Subscribes to SIGINT/SIGTERM; returns the unsubscribe. */
  readonly onSignal: (handler: (signal: string) => void) => () => void;
  readonly now?: Date;
}

export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const parsed = parseOptions(argv, { now: deps.now ?? new Date(), randomSeed: () => randomInt(2 ** 32) });
  if (parsed.kind === 'error') {
    deps.stderr.write(`simulate: ${parsed.message} (npm run simulate -- --help lists every option)\n`);
    return EXIT_BAD_OPTIONS;
  }
  if (parsed.kind === 'help') {
    deps.stdout.write(parsed.text);
    return 0;
  }
  const { plan } = parsed;
  const progress = plan.progress ? new ProgressLine(deps.stdout) : null;
  const abort = new AbortController();
  let forced = false;
  const unsubscribe = deps.onSignal((signal) => {
    if (abort.signal.aborted) {
      // A second Ctrl-C while stopping: the harness is still closing browsers; say so once.
      if (!forced) deps.stderr.write('simulate: still stopping the swarm and writing the report…\n');
      forced = true;
      return;
    }
    progress?.log(`simulate: ${signal}: stopping every browser and volunteer, then writing the report`);
    if (progress === null) deps.stderr.write(`simulate: ${signal}: stopping, then writing the report\n`);
    abort.abort();
  });
  let record: SimulationRecord;
  try {
    record = await deps.run(plan, {
      signal: abort.signal,
      ...(progress !== null && { onProgress: (info) => progress.update(info) }),
      log: (line) => (progress === null ? deps.stderr.write(`${line}\n`) : progress.log(line)),
    });
  } catch (error) {
    progress?.finish();
    deps.stderr.write(
      `simulate: the simulation failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  } finally {
    unsubscribe();
  }
  progress?.finish();
  const report = await writeReport(plan.out, record);
  deps.stdout.write(`\n${formatSummaryTable(record)}\n\n`);
  deps.stdout.write(`Report: ${path.resolve(report.html)}\n        ${path.resolve(report.json)}\n`);
  return EXIT_CODES[record.summary.outcome];
}

async function main(): Promise<void> {
  const code = await runCli(process.argv.slice(2), {
    // Loaded only once the options are good: bad options answer without loading the harness.
    run: async (plan, hooks) => (await import('./run-simulation.ts')).runSimulation(plan, hooks),
    stdout: process.stdout,
    stderr: process.stderr,
    onSignal: (handler) => {
      const on = (signal: NodeJS.Signals): void => handler(signal);
      process.on('SIGINT', on);
      process.on('SIGTERM', on);
      return () => {
        process.off('SIGINT', on);
        process.off('SIGTERM', on);
      };
    },
  });
  process.exitCode = code;
  // Everything the run started is stopped by now; a handle some library left open must not keep
  // the command from returning.
  setTimeout(() => process.exit(code), 2_000).unref();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
