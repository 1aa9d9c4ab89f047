/**
 * What a simulation records, as plain JSON: the harness (swarm runner, fault injector, observer)
 * fills it while the swarm runs; the report (JSON file, self-contained HTML page, summary table on
 * stdout) only reads it. Times are milliseconds since the simulation started (`t`), so every series
 * and the fault timeline share one axis.
 */

export type VolunteerKind = 'browser' | 'virtual';

export type SimulationOutcome = 'completed' | 'interrupted' | 'timeout' | 'failed';

export type FaultKind =
  | 'kill'
  | 'join'
  | 'churn-leave'
  | 'churn-join'
  | 'straggler'
  | 'offline'
  | 'online'
  | 'partition'
  | 'heal'
  | 'restart-coordinator';

/** One fault the injector carried out (or failed to). */
export interface FaultEvent {
  readonly t: number;
  readonly kind: FaultKind;
  /** Volunteer labels it touched (empty for the coordinator). */
  readonly targets: readonly string[];
  /** The job progress (0–1) when it fired. */
  readonly progress: number;
  readonly detail: string;
  /** False when it could not be carried out (the detail says why). */
  readonly ok: boolean;
}

/** One periodic observation of the whole swarm. */
export interface SwarmSample {
  readonly t: number;
  /** Job progress 0–1 (shards done over shards planned). */
  readonly progress: number;
  readonly samplesSeen: number;
  readonly shardsDone: number;
  readonly alive: { readonly browsers: number; readonly virtual: number };
  /** The coordinator's latest consensus distance (relative), or null before the first. */
  readonly consensusDistance: number | null;
}

/** One checkpoint the coordinator evaluated. */
export interface CheckpointPoint {
  readonly t: number;
  readonly round: number;
  readonly samplesSeen: number;
  readonly accuracy: number | null;
  readonly loss: number | null;
}

/** One periodic observation of one volunteer. */
export interface NodePoint {
  readonly t: number;
  readonly status: string;
  readonly samplesPerSec: number | null;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

export interface NodeSeries {
  /** The harness's name for it (browser-3, virtual-117); stable across reconnects. */
  readonly label: string;
  readonly kind: VolunteerKind;
  /** Every node id it joined as (a new id after a kill and rejoin). */
  readonly nodeIds: readonly string[];
  readonly points: readonly NodePoint[];
}

/** A coordinator event (join, leave, lease re-issued, checkpoint…) as the event log reported it. */
export interface LoggedEvent {
  readonly t: number;
  readonly kind: string;
  readonly message: string;
  readonly nodeId?: string;
}

export interface SimulationSummary {
  readonly outcome: SimulationOutcome;
  readonly finalAccuracy: number | null;
  readonly finalLoss: number | null;
  readonly wallSeconds: number;
  readonly samples: number;
  readonly shardsReissued: number;
  readonly duplicatesRejected: number;
  /** Mean over volunteers of bytes sent + received on peer exchanges. */
  readonly bytesPerVolunteer: number;
  readonly rejectedFrames: number;
  readonly leaseLatencyMs: { readonly p50: number | null; readonly p99: number | null };
  readonly faultsDone: number;
  readonly faultsPlanned: number;
  /**
   * The coordinator's store, read after the run (null when it runs elsewhere, --url): shards of
   * the epochs opened, those with exactly one counted completion, none, and more than one.
   */
  readonly ledger: {
    readonly shards: number;
    readonly countedOnce: number;
    readonly uncounted: number;
    readonly countedTwice: number;
  } | null;
}

export interface SimulationRecord {
  readonly version: 1;
  /** ISO time the simulation started. */
  readonly startedAt: string;
  /** The command line and the options as resolved (defaults filled in). */
  readonly argv: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
  readonly machine: {
    readonly cpu: string;
    readonly cores: number;
    readonly node: string;
    readonly chromium: string | null;
  };
  readonly coordinator: { readonly url: string; readonly startedHere: boolean };
  readonly job: { readonly id: string; readonly name: string; readonly mode: string; readonly spec: unknown };
  /** How browsers ran: one Chromium process each, or contexts of one Chromium. */
  readonly browserMode: 'processes' | 'contexts' | 'none';
  readonly samples: readonly SwarmSample[];
  readonly checkpoints: readonly CheckpointPoint[];
  readonly nodes: readonly NodeSeries[];
  readonly faults: readonly FaultEvent[];
  readonly events: readonly LoggedEvent[];
  readonly summary: SimulationSummary;
}
