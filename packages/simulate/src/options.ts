/**
 * `npm run simulate` options: argv → a checked SimulationPlan, or a one-line message naming the
 * option and what it allows (the CLI exits 2 on it before starting anything), or the help text.
 */
import { readdirSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { BrowserBackend, JobChoice, PlannedFault, SimulationPlan } from './plan.ts';
import { defaultFaultMix } from './default-faults.ts';
import { JOB_PRESETS } from './job.ts';
import { HELP_TEXT } from './options-help.ts';

export type ParsedOptions =
  | { readonly kind: 'plan'; readonly plan: SimulationPlan }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'error'; readonly message: string };

export interface OptionDeps {
  readonly now: Date;
  /** Seeds a simulation run without --seed. */
  readonly randomSeed: () => number;
}

const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
const VIRTUAL_BACKENDS = ['wasm', 'cpu'] as const;
const MAX_BROWSERS = 64;
const MAX_VIRTUAL = 5_000;
const DEFAULT_TIMEOUT_S = 900;
const DEFAULT_OFFLINE_S = 10;
const DEFAULT_PARTITION_S = 15;
const DEFAULT_SLOWDOWN = 4;

/** Thrown inside the parser, caught once at the top and turned into `{ kind: 'error' }`. */
class OptionError extends Error {}

const fail = (option: string, message: string): never => {
  throw new OptionError(`${option}: ${message}`);
};

const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  preset: { type: 'string' },
  spec: { type: 'string' },
  job: { type: 'string' },
  browsers: { type: 'string' },
  contexts: { type: 'boolean' },
  virtual: { type: 'string' },
  'virtual-backend': { type: 'string' },
  backend: { type: 'string' },
  faults: { type: 'string' },
  kill: { type: 'string', multiple: true },
  join: { type: 'string', multiple: true },
  churn: { type: 'string' },
  stragglers: { type: 'string' },
  slowdown: { type: 'string' },
  offline: { type: 'string', multiple: true },
  partition: { type: 'string', multiple: true },
  'restart-coordinator': { type: 'string', multiple: true },
  seed: { type: 'string' },
  out: { type: 'string' },
  timeout: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const REPEATABLE = new Set(['kill', 'join', 'offline', 'partition', 'restart-coordinator']);

/**
 * `--restart-coordinator@70%` is how the issue writes it; parseArgs knows only `--name=value` and
 * `--name value`, so the literal form is rewritten to `--restart-coordinator=70%` first (all three
 * are accepted). Any `--option@value` is treated the same way.
 */
function normalise(argv: readonly string[]): string[] {
  return argv.map((arg) => {
    const m = /^(--[a-z-]+)@(.*)$/.exec(arg);
    return m ? `${m[1]}=${m[2]}` : arg;
  });
}

export function parseOptions(argv: readonly string[], deps: OptionDeps): ParsedOptions {
  try {
    return parse(normalise(argv), deps);
  } catch (error) {
    if (error instanceof OptionError) return { kind: 'error', message: error.message };
    // parseArgs' own errors (unknown option, missing value) carry a code and a clear message.
    if (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      return { kind: 'error', message: error.message.split('\n')[0] ?? error.message };
    }
    throw error;
  }
}

function parse(argv: string[], deps: OptionDeps): ParsedOptions {
  // Every option is gathered as a list so that a second --browsers is an error, not a silent override.
  const options = Object.fromEntries(
    Object.entries(OPTIONS).map(([name, o]) => [name, { ...o, multiple: true }]),
  ) as { [K in keyof typeof OPTIONS]: (typeof OPTIONS)[K] & { multiple: true } };
  const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  if (positionals.length > 0)
    fail(String(positionals[0]), 'unexpected argument; every option starts with -- (see --help)');
  const one = <T>(name: keyof typeof OPTIONS): T | undefined => {
    const list = values[name] as T[] | undefined;
    if (list === undefined) return undefined;
    if (list.length > 1 && !REPEATABLE.has(name)) fail(`--${name}`, 'given more than once');
    return list[list.length - 1];
  };
  const many = (name: keyof typeof OPTIONS): string[] => (values[name] as string[] | undefined) ?? [];

  if (one<boolean>('help') === true) return { kind: 'help', text: HELP_TEXT };

  const url = optionalUrl(one<string>('url'));
  const token = one<string>('token') ?? null;
  if (token !== null && token.trim() === '') fail('--token', 'must not be empty');
  if (token !== null && url === null)
    fail('--token', 'only with --url (a coordinator started here needs none)');

  const browsers = integer('--browsers', one<string>('browsers') ?? '0', 0, MAX_BROWSERS);
  const virtual = integer('--virtual', one<string>('virtual') ?? '0', 0, MAX_VIRTUAL);
  const job = jobChoice(
    one<string>('preset'),
    one<string>('spec'),
    one<string>('job'),
    url,
    browsers + virtual > MANY_VOLUNTEERS ? 'mnist-mlp-many' : 'mnist-mlp',
  );
  if (browsers + virtual === 0)
    fail('--browsers/--virtual', 'start at least one volunteer, e.g. --browsers 2 or --virtual 4');
  const contexts = one<boolean>('contexts') === true;
  if (contexts && browsers === 0) fail('--contexts', 'needs --browsers N with N ≥ 1');
  const backend = oneOf<BrowserBackend>('--backend', one<string>('backend'), BACKENDS);
  if (backend !== null && browsers === 0)
    fail('--backend', "pins the browsers' backend; there are no --browsers");
  const virtualBackend =
    oneOf('--virtual-backend', one<string>('virtual-backend'), VIRTUAL_BACKENDS) ?? 'wasm';
  if (one<string>('virtual-backend') !== undefined && virtual === 0)
    fail('--virtual-backend', 'there are no --virtual volunteers');

  const total = browsers + virtual;
  const faults: PlannedFault[] = [];
  let stragglers = { fraction: 0, slowdown: 1 };
  const mix = one<string>('faults');
  if (mix !== undefined) {
    if (mix !== 'default') fail('--faults', `"${mix}" is not a fault mix; the one there is: default`);
    if (total < 2) fail('--faults', 'the default mix needs at least 2 volunteers');
    const d = defaultFaultMix(total, url === null);
    faults.push(...d.faults);
    stragglers = d.stragglers;
  }

  for (const value of many('kill')) {
    const { count, at } = countAt('--kill', value);
    faults.push({ kind: 'kill', count, at });
  }
  for (const value of many('join')) {
    const { count, at } = countAt('--join', value);
    faults.push({ kind: 'join', count, at });
  }
  for (const value of many('offline')) {
    const [head, seconds] = withSeconds('--offline', value, DEFAULT_OFFLINE_S);
    const { count, at } = countAt('--offline', head);
    faults.push({ kind: 'offline', count, at, seconds });
  }
  for (const value of many('partition')) {
    const [head, seconds] = withSeconds('--partition', value, DEFAULT_PARTITION_S);
    faults.push({ kind: 'partition', ...groupsAt(value, head), seconds });
  }
  for (const value of many('restart-coordinator')) {
    if (url !== null) fail('--restart-coordinator', 'needs a coordinator started here (no --url)');
    faults.push({ kind: 'restart-coordinator', at: progress('--restart-coordinator', value) });
  }
  const joined = faults.reduce((n, f) => n + (f.kind === 'join' ? f.count : 0), 0);
  for (const f of faults) {
    if ((f.kind === 'kill' || f.kind === 'offline') && f.count > total + joined)
      fail(`--${f.kind}`, `${f.count} is more than the ${total + joined} volunteers the run will have`);
    if (f.kind === 'partition' && f.a + f.b > total)
      fail('--partition', `groups of ${f.a}+${f.b} are more than the ${total} volunteers started`);
  }

  const churnText = one<string>('churn');
  const churnPerMinute =
    churnText === undefined ? 0 : decimal('--churn', churnText, 0, 600, 'leaves per minute');

  const fractionText = one<string>('stragglers');
  const slowdownText = one<string>('slowdown');
  if (slowdownText !== undefined && fractionText === undefined && mix === undefined)
    fail('--slowdown', 'only with --stragglers F (which volunteers to slow down)');
  if (fractionText !== undefined || slowdownText !== undefined) {
    const fraction = fractionText === undefined ? stragglers.fraction : stragglerFraction(fractionText);
    const slowdown =
      slowdownText === undefined
        ? Math.max(stragglers.slowdown, DEFAULT_SLOWDOWN)
        : decimal('--slowdown', slowdownText.replace(/[x×]$/, ''), 1, 100, 'a factor such as 4 or 10x', true);
    stragglers = { fraction, slowdown };
  }

  const seedText = one<string>('seed');
  const seed = seedText === undefined ? deps.randomSeed() >>> 0 : integer('--seed', seedText, 0, 2 ** 32 - 1);
  const out = outDir(one<string>('out'), deps.now);
  const timeoutSeconds = integer(
    '--timeout',
    one<string>('timeout') ?? String(DEFAULT_TIMEOUT_S),
    10,
    86_400,
  );

  faults.sort((a, b) => a.at - b.at);
  const plan: SimulationPlan = {
    url,
    token,
    job,
    browsers,
    contexts,
    virtual,
    backend,
    virtualBackend,
    faults,
    churnPerMinute,
    stragglers,
    seed,
    out,
    timeoutSeconds,
    progress: one<boolean>('quiet') !== true,
  };
  return { kind: 'plan', plan };
}

function optionalUrl(text: string | undefined): string | null {
  if (text === undefined) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('--url', `"${text}" is not a URL; give the coordinator's origin, e.g. http://localhost:8080`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    fail('--url', `"${text}" must be http:// or https://`);
  return url.origin + url.pathname.replace(/\/+$/, '');
}

/** Beyond this many volunteers the default job has small shards, so that most get work. */
export const MANY_VOLUNTEERS = 16;

function jobChoice(
  preset: string | undefined,
  spec: string | undefined,
  jobId: string | undefined,
  url: string | null,
  defaultPreset: string,
): JobChoice {
  const given = [preset, spec, jobId].filter((v) => v !== undefined).length;
  if (given > 1) fail('--preset/--spec/--job', 'choose one of them');
  if (spec !== undefined) {
    let isFile = false;
    try {
      isFile = statSync(spec).isFile();
    } catch {
      fail('--spec', `no file "${spec}"; give a job spec JSON file`);
    }
    if (!isFile) fail('--spec', `"${spec}" is not a file; give a job spec JSON file`);
    return { kind: 'spec-file', path: spec };
  }
  if (jobId !== undefined) {
    if (url === null) fail('--job', 'an existing job needs the coordinator it runs on: add --url');
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(jobId))
      fail('--job', `"${jobId}" is not a job id (letters, digits, - and _)`);
    return { kind: 'existing', jobId };
  }
  const name = preset ?? defaultPreset;
  if (!Object.hasOwn(JOB_PRESETS, name))
    fail('--preset', `"${name}" is not a preset; one of ${Object.keys(JOB_PRESETS).join(', ')}`);
  return { kind: 'preset', preset: name };
}

function integer(option: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) fail(option, `"${text}" is not a whole number (${min}–${max})`);
  const n = Number(text);
  if (n < min || n > max) fail(option, `${n} is out of range (${min}–${max})`);
  return n;
}

function decimal(
  option: string,
  text: string,
  min: number,
  max: number,
  what: string,
  exclusiveMin = false,
): number {
  const n = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isFinite(n)) fail(option, `"${text}" is not a number; ${what}`);
  if (n > max || n < min || (exclusiveMin && n === min))
    fail(option, `${text} is out of range (${exclusiveMin ? 'more than ' : ''}${min}–${max}); ${what}`);
  return n;
}

function oneOf<T extends string>(option: string, text: string | undefined, allowed: readonly T[]): T | null {
  if (text === undefined) return null;
  if (!(allowed as readonly string[]).includes(text))
    fail(option, `"${text}" is not one of ${allowed.join(', ')}`);
  return text as T;
}

/** A job progress point: 50% or 0.5, strictly between 0 and 1 (0 is before any work, 1 the end). */
export function progress(option: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  const n = m ? Number(m[1]) / (m[2] === '%' ? 100 : 1) : Number.NaN;
  if (!m || !Number.isFinite(n) || n <= 0 || n >= 1)
    fail(option, `"${text}" is not a job progress between 0 and 1 exclusive, e.g. 50% or 0.5`);
  return n;
}

function countAt(option: string, text: string): { count: number; at: number } {
  const m = /^(\d+)@(.+)$/.exec(text.trim());
  if (!m) return fail(option, `"${text}" is not N@P (N volunteers at job progress P, e.g. 1@50%)`);
  const count = integer(option, m[1] ?? '', 1, MAX_BROWSERS + MAX_VIRTUAL);
  return { count, at: progress(option, m[2] ?? '') };
}

/** Splits `HEAD:SECONDS` (the seconds optional). */
function withSeconds(option: string, text: string, fallback: number): [string, number] {
  const i = text.lastIndexOf(':');
  if (i < 0) return [text, fallback];
  const seconds = decimal(option, text.slice(i + 1), 0, 3_600, 'seconds after the colon (e.g. :10)', true);
  return [text.slice(0, i), seconds];
}

function groupsAt(full: string, text: string): { a: number; b: number; at: number } {
  const m = /^(\d+)\/(\d+)@(.+)$/.exec(text.trim());
  if (!m) return fail('--partition', `"${full}" is not A/B@P[:SECONDS] (e.g. 2/2@40%:15)`);
  const a = integer('--partition', m[1] ?? '', 1, MAX_BROWSERS + MAX_VIRTUAL);
  const b = integer('--partition', m[2] ?? '', 1, MAX_BROWSERS + MAX_VIRTUAL);
  return { a, b, at: progress('--partition', m[3] ?? '') };
}

function stragglerFraction(text: string): number {
  const ratio = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (ratio) {
    const n = Number(ratio[1]);
    const d = Number(ratio[2]);
    if (d > 0 && n > 0 && n <= d) return n / d;
  } else {
    const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
    const n = m ? Number(m[1]) / (m[2] === '%' ? 100 : 1) : Number.NaN;
    if (n > 0 && n <= 1) return n;
  }
  return fail(
    '--stragglers',
    `"${text}" is not a fraction of the volunteers in (0, 1], e.g. 0.25, 25% or 1/4`,
  );
}

function outDir(text: string | undefined, now: Date): string {
  if (text === undefined) return `simulations/${now.toISOString().replace(/[:.]/g, '-')}`;
  if (text.trim() === '') return fail('--out', 'must not be empty');
  try {
    const s = statSync(text);
    if (!s.isDirectory()) fail('--out', `"${text}" is a file; give a folder for the report`);
    if (readdirSync(text).length > 0) fail('--out', `"${text}" is not empty; give a new or empty folder`);
  } catch (error) {
    if (error instanceof OptionError) throw error;
    // Not there yet: the report creates it.
  }
  return text;
}
