/**
 * The command line of `npm run bench`: which parts, how many repetitions, where the JSON goes.
 * Untrusted input: anything wrong is a UsageError with a message saying what to type instead.
 */
import { parseArgs } from 'node:util';

export interface CliOptions {
  readonly help: boolean;
  /** Part names in registry order; all registered parts when none was named. */
  readonly parts: readonly string[];
  readonly quick: boolean;
  readonly repetitions: number;
  /** The results folder (resolved by the caller). */
  readonly out: string | null;
  /** The training part's presets to run; null: all of them. */
  readonly presets: readonly string[] | null;
}

export interface PartNames {
  readonly registered: readonly string[];
  /** Parts that have a place in the command but are not written yet. */
  readonly planned: readonly string[];
  /** The presets the training part can run (--preset picks among them). */
  readonly trainingPresets: readonly string[];
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Timing figures are medians of at least this many repetitions (fewer only with --quick). */
export const MIN_REPETITIONS = 5;
export const QUICK_REPETITIONS = 3;

export function parseCliOptions(argv: readonly string[], names: PartNames): CliOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    return { help: true, parts: [], quick: false, repetitions: MIN_REPETITIONS, out: null, presets: null };
  }
  for (const name of positionals) {
    if (names.planned.includes(name)) {
      throw new UsageError(`part "${name}" is not written yet (see --help)`);
    }
    if (!names.registered.includes(name)) {
      throw new UsageError(`unknown part "${name}": the parts are ${names.registered.join(', ')}`);
    }
  }
  const quick = values.quick === true;
  let repetitions = quick ? QUICK_REPETITIONS : MIN_REPETITIONS;
  if (values.repetitions !== undefined) {
    const text = values.repetitions;
    repetitions = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(repetitions) || repetitions < 1 || repetitions > 1000) {
      throw new UsageError(`--repetitions must be a whole number from 1 to 1000, not "${text}"`);
    }
    if (!quick && repetitions < MIN_REPETITIONS) {
      throw new UsageError(
        `--repetitions must be at least ${MIN_REPETITIONS} (medians of fewer are noise); use --quick for a shape check`,
      );
    }
  }
  if (values.out === '') throw new UsageError('--out needs a folder');
  const parts = names.registered.filter((n) => positionals.length === 0 || positionals.includes(n));
  const presets = values.preset ?? null;
  if (presets !== null) {
    if (!parts.includes('training'))
      throw new UsageError('--preset picks what the training part runs: name that part too');
    for (const preset of presets) {
      if (!names.trainingPresets.includes(preset)) {
        throw new UsageError(
          `unknown preset "${preset}" for --preset: the training part runs ${names.trainingPresets.join(', ')}`,
        );
      }
    }
  }
  return { help: false, parts, quick, repetitions, out: values.out ?? null, presets };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      quick: { type: 'boolean' },
      repetitions: { type: 'string' },
      out: { type: 'string' },
      preset: { type: 'string', multiple: true },
    },
  });
}

export function helpText(
  registered: readonly { name: string; description: string }[],
  planned: readonly { name: string; description: string }[],
): string {
  const width = Math.max(...[...registered, ...planned].map((p) => p.name.length));
  return [
    'Usage: npm run bench -- [part ...] [--quick] [--repetitions N] [--out DIR] [--preset NAME ...]',
    '',
    'Runs the benchmark parts (all when none is named), prints a markdown table per part on stdout',
    '(progress on stderr) and writes the figures with the machine description to',
    'DIR/<timestamp>.json (default bench-results/).',
    '',
    'Parts:',
    ...registered.map((p) => `  ${p.name.padEnd(width)}  ${p.description}`),
    ...planned.map((p) => `  ${p.name.padEnd(width)}  not yet: ${p.description}`),
    '',
    'Options:',
    `  --quick           a reduced run of every part (a shape check, minutes; ${QUICK_REPETITIONS} repetitions)`,
    `  --repetitions N   repetitions per timed figure (default ${MIN_REPETITIONS}; at least ${MIN_REPETITIONS} without --quick)`,
    '  --out DIR         the results folder',
    '  --preset NAME     the training part runs only this preset (repeatable; default: all of them)',
    '  --help            this text',
  ].join('\n');
}
