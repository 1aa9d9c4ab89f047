/** What the bench hands the baseline page and what the page hands back (plain, structured-clone data). */
import type { Backend, JobSpec } from '@tabswarm/protocol';

export interface BaselineConfig {
  readonly jobId: string;
  /** The job's spec as the coordinator stored it (defaults filled in): model, optimizer, batch size. */
  readonly spec: JobSpec;
  readonly featureShape: readonly number[];
  /** A text window's [context]: one next-token label per position. */
  readonly labelShape?: readonly number[];
  readonly numClasses: number;
  readonly trainSize: number;
  /** Samples to train; fit stops after the batch that reaches it. */
  readonly sampleBudget: number;
  /** Keep a copy of the weights every this many samples (the swarm's checkpoint grid). */
  readonly snapshotEvery: number;
  /** Pin this backend (else the trainer's own choice, startBackend). */
  readonly backend: Backend | null;
}

export interface BaselineResult {
  readonly backend: string;
  readonly fallbackReason: string | null;
  readonly samples: number;
  /** Samples seen at each kept snapshot, in order. */
  readonly snapshotSamples: readonly number[];
  readonly finalLoss: number | null;
}

/** Called by the page at the edges of its measured window (the bench reads CPU there). */
export type BenchMark = (label: 'start' | 'end') => Promise<void>;

export interface BaselineWindow {
  benchMark?: BenchMark;
  runBaseline?: (config: BaselineConfig) => Promise<BaselineResult>;
  /** Snapshot i's weights as base64 of their float32 bytes. */
  baselineSnapshot?: (index: number) => string;
}
