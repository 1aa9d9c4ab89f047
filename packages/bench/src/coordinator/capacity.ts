/**
 * The coordinator part's figures, from the load workers' windows and the coordinator process's
 * CPU time and memory: pure functions, so the table's maths is tested apart from any load.
 */
import { goalVerdict, markdownTable } from '../any/markdown.ts';
import type { LoadWindow } from './load-protocol.ts';

/** The issue's goals on one coordinator. */
export const GOALS = { volunteers: 10_000, leasesPerSecond: 5_000, p99LeaseMs: 50 } as const;

/** The q-quantile (0–1) by nearest rank; NaN for no samples. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/** One step of the load: so many volunteers at a set rate, measured over one window. */
export interface StepFigure {
  readonly volunteers: number;
  /** Volunteers joined and connected at the end of the window, over every worker. */
  readonly connected: number;
  /** Seconds all of this step's new volunteers took to join. */
  readonly joinSeconds: number;
  /** The lease+complete cycles per second asked for, over the swarm. */
  readonly offeredPerSecond: number;
  /** Leases granted and completed per second in the window. */
  readonly leasesPerSecond: number;
  readonly completionsPerSecond: number;
  readonly leaseP50Ms: number;
  readonly leaseP99Ms: number;
  readonly completeP99Ms: number;
  readonly heartbeatP99Ms: number;
  readonly errors: number;
  readonly errorMessages: readonly string[];
  /** Requests answered "no work": the queue ran dry (the job is sized so that it does not). */
  readonly noWork: number;
  /** Cycles the workers started late (their own CPU was short): the offered rate was not met. */
  readonly late: number;
  /** The coordinator process's CPU seconds per 1,000 leases granted in the window. */
  readonly cpuSecondsPer1000Leases: number | null;
  /** The coordinator's CPU use in the window, in cores (1 = one core busy all the time). */
  readonly coordinatorCores: number | null;
  /** The coordinator's resident memory above its idle size (before any volunteer), per 1,000 connected volunteers, MB. */
  readonly rssMbPer1000Volunteers: number | null;
  readonly rssMb: number | null;
}

export interface CoordinatorSample {
  /** CPU seconds the coordinator process used in the window. */
  readonly cpuSeconds: number | null;
  readonly rssBytes: number | null;
  /** Its resident memory with the job created and no volunteer yet. */
  readonly idleRssBytes: number | null;
}

export function stepFigure(
  volunteers: number,
  joinSeconds: number,
  ratePerVolunteer: number,
  windows: readonly LoadWindow[],
  coordinator: CoordinatorSample,
): StepFigure {
  const seconds = Math.max(...windows.map((w) => w.ms)) / 1000;
  const all = (pick: (w: LoadWindow) => readonly number[]): number[] => windows.flatMap((w) => [...pick(w)]);
  const sum = (pick: (w: LoadWindow) => number): number => windows.reduce((s, w) => s + pick(w), 0);
  const leases = sum((w) => w.leases);
  const connected = sum((w) => w.connected);
  const lease = all((w) => w.leaseMs);
  return {
    volunteers,
    connected,
    joinSeconds,
    offeredPerSecond: volunteers * ratePerVolunteer,
    leasesPerSecond: leases / seconds,
    completionsPerSecond: sum((w) => w.completions) / seconds,
    leaseP50Ms: quantile(lease, 0.5),
    leaseP99Ms: quantile(lease, 0.99),
    completeP99Ms: quantile(
      all((w) => w.completeMs),
      0.99,
    ),
    heartbeatP99Ms: quantile(
      all((w) => w.heartbeatMs),
      0.99,
    ),
    errors: sum((w) => w.errors),
    errorMessages: windows.flatMap((w) => [...w.errorMessages]).slice(0, 5),
    noWork: sum((w) => w.noWork),
    late: sum((w) => w.late),
    cpuSecondsPer1000Leases:
      coordinator.cpuSeconds === null || leases === 0 ? null : (coordinator.cpuSeconds / leases) * 1000,
    coordinatorCores: coordinator.cpuSeconds === null ? null : coordinator.cpuSeconds / seconds,
    rssMbPer1000Volunteers:
      coordinator.rssBytes === null || coordinator.idleRssBytes === null || connected === 0
        ? null
        : (coordinator.rssBytes - coordinator.idleRssBytes) / 1e6 / (connected / 1000),
    rssMb: coordinator.rssBytes === null ? null : coordinator.rssBytes / 1e6,
  };
}

/** Why a step ends the climb, or null when the coordinator held it. */
export function stepLimit(step: StepFigure): string | null {
  if (step.errors > 0) return `${step.errors} errors (${step.errorMessages[0] ?? '?'})`;
  if (step.connected < step.volunteers) return `${step.volunteers - step.connected} volunteers not connected`;
  if (!(step.leaseP99Ms <= GOALS.p99LeaseMs))
    return `p99 lease latency ${step.leaseP99Ms.toFixed(1)} ms > ${GOALS.p99LeaseMs} ms`;
  return null;
}

export interface CapacityData {
  /** What served the load, e.g. "1 coordinator, SQLite". */
  readonly setup: string;
  readonly goals: typeof GOALS;
  readonly ratePerVolunteer: number;
  readonly workers: number;
  readonly steps: readonly StepFigure[];
  /** The largest step held (no errors, everyone connected, p99 within the goal); null: none was. */
  readonly held: StepFigure | null;
  /** Why the climb stopped: the first step not held, or the last step planned. */
  readonly stoppedBecause: string;
}

const fixed =
  (digits: number) =>
  (x: number | null): string =>
    x === null || !Number.isFinite(x) ? '—' : x.toFixed(digits);

export function capacityMarkdown(data: CapacityData): string {
  const rows = data.steps.map((s) => [
    String(s.volunteers),
    String(s.connected),
    fixed(1)(s.joinSeconds),
    fixed(0)(s.offeredPerSecond),
    fixed(0)(s.leasesPerSecond),
    fixed(1)(s.leaseP50Ms),
    fixed(1)(s.leaseP99Ms),
    fixed(1)(s.completeP99Ms),
    fixed(1)(s.heartbeatP99Ms),
    String(s.errors),
    fixed(2)(s.coordinatorCores),
    fixed(2)(s.cpuSecondsPer1000Leases),
    fixed(1)(s.rssMbPer1000Volunteers),
    stepLimit(s) ?? 'held',
  ]);
  const table = markdownTable(
    [
      'volunteers',
      'connected',
      'join s',
      'offered l/s',
      'leases/s',
      'lease p50 ms',
      'lease p99 ms',
      'complete p99 ms',
      'heartbeat p99 ms',
      'errors',
      'coordinator cores',
      'CPU s / 1,000 leases',
      'RSS MB / 1,000 vol.',
      'step',
    ],
    rows,
  );
  const held = data.held;
  const lines = [
    table,
    '',
    `Each volunteer heartbeats at the coordinator's interval and leases+completes ${data.ratePerVolunteer}/s; ${data.workers} load worker processes; latencies are round trips measured in the workers.`,
    held === null
      ? `No step was held: ${data.stoppedBecause}.`
      : `Held: ${held.volunteers} volunteers (goal ${GOALS.volunteers}: ${goalVerdict(held.volunteers, GOALS.volunteers, (x) => `${x.toFixed(0)} volunteers`)}), ${held.leasesPerSecond.toFixed(0)} leases/s (goal ${GOALS.leasesPerSecond}: ${goalVerdict(held.leasesPerSecond, GOALS.leasesPerSecond, (x) => `${x.toFixed(0)}/s`)}), p99 ${held.leaseP99Ms.toFixed(1)} ms. Stopped: ${data.stoppedBecause}.`,
  ];
  return lines.join('\n');
}
