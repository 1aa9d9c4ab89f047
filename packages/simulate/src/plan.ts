/**
 * A simulation as planned, after the command line was parsed and checked: the swarm to start, the
 * job to run, and the faults to inject. The CLI builds it (options.ts); the harness carries it out.
 * Progress points are fractions of the job (0.5 = half its shards done).
 */

export type BrowserBackend = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Which job the swarm trains. */
export type JobChoice =
  | { readonly kind: 'preset'; readonly preset: string }
  | { readonly kind: 'spec-file'; readonly path: string }
  | { readonly kind: 'existing'; readonly jobId: string };

export type PlannedFault =
  /** Close N volunteers without a goodbye when the job reaches `at`. */
  | { readonly kind: 'kill'; readonly count: number; readonly at: number }
  /** Start N new volunteers (of the kind the swarm has most of, browsers first on a tie) at `at`. */
  | { readonly kind: 'join'; readonly count: number; readonly at: number }
  /** Take N volunteers off the network at `at`, back after `seconds`. */
  | { readonly kind: 'offline'; readonly count: number; readonly at: number; readonly seconds: number }
  /**
   * Split the swarm into two groups of sizes a and b (the rest keep talking to both) with no peer
   * traffic between them, relay included, from `at` for `seconds`, then heal.
   */
  | {
      readonly kind: 'partition';
      readonly a: number;
      readonly b: number;
      readonly at: number;
      readonly seconds: number;
    }
  /** SIGKILL the coordinator at `at` and start it again on the same data directory. */
  | { readonly kind: 'restart-coordinator'; readonly at: number };

export interface SimulationPlan {
  /** An existing coordinator's origin, or null to start one here on a fresh data directory. */
  readonly url: string | null;
  /** The operator token for job submission against --url (a coordinator started here has none). */
  readonly token: string | null;
  readonly job: JobChoice;
  readonly browsers: number;
  /** Browsers as contexts of one Chromium (memory is short) instead of one process each. */
  readonly contexts: boolean;
  readonly virtual: number;
  readonly backend: BrowserBackend | null;
  readonly virtualBackend: 'wasm' | 'cpu';
  readonly faults: readonly PlannedFault[];
  /** Volunteers leaving (and as many joining) per minute, spread by the seeded generator. */
  readonly churnPerMinute: number;
  /** Fraction of the volunteers slowed down for the whole run, and by how much (10 = 10× slower). */
  readonly stragglers: { readonly fraction: number; readonly slowdown: number };
  readonly seed: number;
  /** Where the report folder goes. */
  readonly out: string;
  /** Give up (and still write the report) after this many seconds. */
  readonly timeoutSeconds: number;
  /** The terminal progress line (off when stdout is not a terminal or with --quiet). */
  readonly progress: boolean;
}
