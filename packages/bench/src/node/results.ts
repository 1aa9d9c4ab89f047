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
  | { readonly part: string; readonly status: 'failed'; readonly seconds: number; readonly error: string };

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

/** The results format; bump when a field changes meaning. */
export const RESULTS_VERSION = 1;

/** Writes DIR/<timestamp>.json (creating DIR) and returns its path. */
export function writeResults(dir: string, run: RunRecord): string {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = run.startedAt.toISOString().replace(/[:.]/g, '-');
  const file = path.join(dir, `${stamp}.json`);
  const body = {
    version: RESULTS_VERSION,
    startedAt: run.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options: run.options,
    machine: run.machine,
    parts: run.parts,
  };
  fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}
