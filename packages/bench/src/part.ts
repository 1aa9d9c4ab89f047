/**
 * What every part of `npm run bench` shares: its options, the machine it ran on, and the result it
 * hands back (a markdown table for the terminal and JSON for the results folder). Parts measure and
 * report; they never assert a time.
 */

export interface BenchOptions {
  /** A reduced version of every part (the whole command in under 5 minutes). */
  readonly quick: boolean;
  /** Repetitions per timed figure (medians with min–max); at least 5 unless quick. */
  readonly repetitions: number;
  /** The training part's presets to run (--preset); null: all of them. */
  readonly presets: readonly string[] | null;
  /** Progress lines go here (stderr), never into the tables. */
  readonly log: (line: string) => void;
  /**
   * A long part hands its tables and figures so far here after each finished step; the command
   * keeps them in the results folder, so an interrupted run (hours, for the language model) loses
   * only the step it was in.
   */
  readonly progress?: (sofar: { readonly markdown: string; readonly data: unknown }) => void;
}

/** One timed figure: the median of its repetitions, with the spread. */
export interface Timing {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly repetitions: number;
}

export interface MachineDescription {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly chromium: string | null;
  /** The WebGPU adapter Chromium gave the page, and whether it is a fallback (software) adapter. */
  readonly webgpu: {
    /** vendor, architecture, device and description in one line. */
    readonly adapter: string;
    readonly fallback: boolean;
    readonly vendor: string;
    readonly architecture: string;
    readonly device: string;
    readonly description: string;
  } | null;
}

export interface PartResult {
  readonly part: string;
  /** Markdown: one or more tables, and short notes under them (goals met or missed, by how much). */
  readonly markdown: string;
  /** Every figure behind the tables. */
  readonly data: unknown;
}

export interface BenchPart {
  readonly name: string;
  readonly description: string;
  run(options: BenchOptions): Promise<PartResult>;
}
