/** The JSON record of one run: the command, the machine, and each part's figures or error. */
import fs from 'node:fs';
import path from 'node:path';
import type { MachineDescription } from '../part.ts';

export type PartRecord =
  | {
      readonly part: string;
      readonly status: 'ok';
      readonly seconds: number;
      readonly markdown: string;
      readonly data: unknown;
    }
  | {
      readonly part: string;
      readonly status: 'failed';
      readonly seconds: number;
      readonly error: string;
      /** What it had measured before it failed (its last partial record), if anything. */
      readonly markdown?: string;
      readonly data?: unknown;
    }
  | {
      /** A part still running when the record was written: its figures so far. */
      readonly part: string;
      readonly status: 'partial';
      readonly seconds: number;
      readonly markdown: string;
      readonly data: unknown;
    };

export interface RunRecord {
  readonly startedAt: Date;
  readonly options: {
    readonly parts: readonly string[];
    readonly quick: boolean;
    readonly repetitions: number;
    readonly presets: readonly string[] | null;
  };
  readonly machine: MachineDescription;
  readonly parts: readonly PartRecord[];
}

/**
 * The record of a part that failed: the error, and the figures it had kept so far — an interrupted
 * run (a browser killed, Ctrl-C) keeps every finished repetition in the final record.
 */
export function failedPart(
  part: string,
  seconds: number,
  error: string,
  sofar: { readonly markdown: string; readonly data: unknown } | null,
): PartRecord {
  return { part, status: 'failed', seconds, error, ...(sofar ?? {}) };
}

/** The results format; bump when a field changes meaning. */
export const RESULTS_VERSION = 1;

/** Where a run's record goes: DIR/<timestamp>.json, or <timestamp>.partial.json while it runs. */
export function resultsFile(dir: string, startedAt: Date, partial = false): string {
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  return path.join(dir, `${stamp}${partial ? '.partial' : ''}.json`);
}

/** Writes the run's record (creating DIR) and returns its path; the final one removes the partial. */
export function writeResults(dir: string, run: RunRecord, partial = false): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = resultsFile(dir, run.startedAt, partial);
  const body = {
    version: RESULTS_VERSION,
    startedAt: run.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options: run.options,
    machine: run.machine,
    parts: run.parts,
  };
  // Written whole, then renamed: a run killed mid-write leaves the previous record, not half of one.
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(body, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
  if (!partial) fs.rmSync(resultsFile(dir, run.startedAt, true), { force: true });
  return file;
}
