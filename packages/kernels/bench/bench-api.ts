/** The typed API the benchmark page exposes to its driver (run.ts) as window.tabswarmBench. */

export interface BenchOptions {
  /** Vector lengths to measure at. */
  readonly sizes: readonly number[];
  /** Kernel names to run (all when empty). */
  readonly kernels: readonly string[];
  /** Timed batches per side after the warm-up; the median is reported. */
  readonly repetitions: number;
  /** Each timed batch repeats the call until it has run at least this long. */
  readonly minBatchMs: number;
}

export interface BenchRow {
  readonly kernel: string;
  readonly elements: number;
  /** Nominal bytes the computation must read and write, the same for both sides. */
  readonly bytes: number;
  /** Median milliseconds per call of our kernel, and of the composed tfjs ops (null: no tfjs equivalent). */
  readonly oursMs: number;
  readonly tfjsMs: number | null;
  readonly note: string;
}

export interface BenchAdapter {
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
  readonly fallback: boolean;
}

export interface BenchApi {
  adapter(): BenchAdapter | null;
  kernelNames(): readonly string[];
  run(options: BenchOptions): Promise<BenchRow[]>;
}

declare global {
  interface Window {
    tabswarmBench?: BenchApi;
  }
}
