/**
 * `npm run bench [part ...] [--quick] [--repetitions N] [--out DIR] [--preset NAME]`: runs the parts, prints a
 * markdown table per part on stdout (progress on stderr) and writes every figure with the machine
 * description to DIR/<timestamp>.json — and, while a long part runs, its figures so far to
 * DIR/<timestamp>.partial.json (removed once the final record is written). A failed part is
 * reported and the others still run; the exit status is 1 then, 2 for a bad command line.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, helpText, parseCliOptions } from './cli-options.ts';
import { describeMachine, machineLine } from './node/machine.ts';
import { failedPart, writeResults, type PartRecord } from './node/results.ts';
import { PARTS, PLANNED_PARTS } from './parts.ts';
import { TRAINING_PRESETS } from './training/setup.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function main(argv: readonly string[]): Promise<number> {
  let options;
  try {
    options = parseCliOptions(argv, {
      registered: PARTS.map((p) => p.name),
      planned: PLANNED_PARTS.map((p) => p.name),
      trainingPresets: TRAINING_PRESETS,
    });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    log(`bench: ${error.message}\n\n${helpText(PARTS, PLANNED_PARTS)}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${helpText(PARTS, PLANNED_PARTS)}\n`);
    return 0;
  }
  const startedAt = new Date();
  log('bench: describing the machine');
  const machine = await describeMachine(log);
  process.stdout.write(
    `# tabswarm bench${options.quick ? ' (--quick: a shape check, not figures to quote)' : ''}\n\n`,
  );
  process.stdout.write(`Machine: ${machineLine(machine)}\n`);
  const records: PartRecord[] = [];
  const outDir = path.resolve(options.out ?? path.join(ROOT, 'bench-results'));
  const runOptions = {
    parts: options.parts,
    quick: options.quick,
    repetitions: options.repetitions,
    presets: options.presets,
  };
  for (const part of PARTS.filter((p) => options.parts.includes(p.name))) {
    log(`bench: ${part.name} — ${part.description}`);
    const started = performance.now();
    const partLog = (line: string): void => log(`  [${part.name}] ${line}`);
    // Written by `progress` (a closure), read if the part fails.
    const kept: { last: { readonly markdown: string; readonly data: unknown } | null } = { last: null };
    const progress = (sofar: { readonly markdown: string; readonly data: unknown }): void => {
      kept.last = sofar;
      const seconds = (performance.now() - started) / 1000;
      const partial: PartRecord = { part: part.name, status: 'partial', seconds, ...sofar };
      try {
        const file = writeResults(
          outDir,
          { startedAt, options: runOptions, machine, parts: [...records, partial] },
          true,
        );
        partLog(`figures so far in ${file}`);
      } catch (error) {
        // A record that cannot be kept is reported; the measuring goes on.
        partLog(
          `could not keep the figures so far: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    };
    try {
      const result = await part.run({
        quick: options.quick,
        repetitions: options.repetitions,
        presets: options.presets,
        log: partLog,
        progress,
      });
      const seconds = (performance.now() - started) / 1000;
      records.push({ part: part.name, status: 'ok', seconds, markdown: result.markdown, data: result.data });
      process.stdout.write(`\n## ${part.name}: ${part.description}\n\n${result.markdown.trim()}\n`);
      log(`bench: ${part.name} done in ${seconds.toFixed(0)} s`);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      const seconds = (performance.now() - started) / 1000;
      records.push(failedPart(part.name, seconds, message, kept.last));
      process.stdout.write(`\n## ${part.name}: FAILED\n\n${message.split('\n')[0] ?? ''}\n`);
      if (kept.last !== null)
        process.stdout.write(`\nWhat it measured before:\n\n${kept.last.markdown.trim()}\n`);
      log(`bench: ${part.name} failed: ${message}`);
    }
  }
  const file = writeResults(outDir, { startedAt, options: runOptions, machine, parts: records });
  log(`bench: results in ${file}`);
  return records.every((r) => r.status === 'ok') ? 0 : 1;
}

// An explicit exit: a part may leave a handle open (the coordinator's server keeps timers and
// sockets past close()), and a finished benchmark must not hang its caller.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
