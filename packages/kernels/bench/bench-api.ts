/** The typed API the kernel benchmark page exposes to its driver (@tabswarm/bench's kernels part). */

export interface BenchOptions {
  /** Vector lengths to measure at (multiples of 256: the int8 block). */
  readonly sizes: readonly number[];
  /** Kernel names to run (all when empty). */
  readonly kernels: readonly string[];
  /** Timed batches per side after the warm-up. */
  readonly repetitions: number;
  /** Each timed batch repeats the call until it has run at least this long. */
  readonly minBatchMs: number;
}

export interface BenchRow {
  readonly kernel: string;
  readonly elements: number;
  /** Nominal bytes the computation must read and write, the same for both sides. */
  readonly bytes: number;
  /** Milliseconds per call of our kernel, one per timed batch. */
  readonly oursMs: readonly number[];
  /** The same for the composed tfjs ops (null: no tfjs equivalent). */
  readonly tfjsMs: readonly number[] | null;
  /** Streams its bytes once (judged against the copy's bandwidth); false for selection and scatter. */
  readonly memoryBound: boolean;
  readonly note: string;
}

/** The plain copy kernel at one size: N floats read, N written. */
export interface CopyRow {
  readonly elements: number;
  readonly bytes: number;
  readonly ms: readonly number[];
}

export interface BenchResult {
  readonly copy: readonly CopyRow[];
  readonly rows: readonly BenchRow[];
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
  run(options: BenchOptions): Promise<BenchResult>;
}

declare global {
  interface Window {
    tabswarmBench?: BenchApi;
  }
}
