/**
 * The SimulationRecord while a simulation runs: one clock (ms since the start) and the growing
 * series the fault executor and the observer append to; `finish` freezes it with its summary.
 */
import os from 'node:os';
import type {
  CheckpointPoint,
  FaultEvent,
  LoggedEvent,
  NodePoint,
  NodeSeries,
  SimulationRecord,
  SimulationSummary,
  SwarmSample,
  VolunteerKind,
} from './record.ts';

interface MutableNode {
  readonly label: string;
  readonly kind: VolunteerKind;
  readonly nodeIds: string[];
  readonly points: NodePoint[];
}

export class RecordBuilder {
  readonly startedMs = Date.now();
  readonly samples: SwarmSample[] = [];
  readonly checkpoints: CheckpointPoint[] = [];
  readonly faults: FaultEvent[] = [];
  readonly events: LoggedEvent[] = [];
  readonly #nodes = new Map<string, MutableNode>();
  coordinator = { url: '', startedHere: false };
  job: SimulationRecord['job'] = { id: '', name: '', mode: '', spec: null };
  browserMode: SimulationRecord['browserMode'] = 'none';
  chromium: string | null = null;

  /** Milliseconds since the simulation started. */
  t(at = Date.now()): number {
    return Math.max(0, at - this.startedMs);
  }

  fault(event: Omit<FaultEvent, 't'>): void {
    this.faults.push({ t: this.t(), ...event });
  }

  node(label: string, kind: VolunteerKind): MutableNode {
    let node = this.#nodes.get(label);
    if (node === undefined) {
      node = { label, kind, nodeIds: [], points: [] };
      this.#nodes.set(label, node);
    }
    return node;
  }

  nodePoint(label: string, kind: VolunteerKind, nodeId: string | null, point: NodePoint): void {
    const node = this.node(label, kind);
    if (nodeId !== null && !node.nodeIds.includes(nodeId)) node.nodeIds.push(nodeId);
    node.points.push(point);
  }

  get nodes(): readonly NodeSeries[] {
    return [...this.#nodes.values()];
  }

  finish(
    argv: readonly string[],
    options: Readonly<Record<string, unknown>>,
    summary: SimulationSummary,
  ): SimulationRecord {
    return {
      version: 1,
      startedAt: new Date(this.startedMs).toISOString(),
      argv,
      options,
      machine: {
        cpu: os.cpus()[0]?.model ?? 'unknown',
        cores: os.cpus().length,
        node: process.version,
        chromium: this.chromium,
      },
      coordinator: this.coordinator,
      job: this.job,
      browserMode: this.browserMode,
      samples: this.samples,
      checkpoints: this.checkpoints,
      nodes: this.nodes,
      faults: this.faults,
      events: this.events,
      summary,
    };
  }
}
