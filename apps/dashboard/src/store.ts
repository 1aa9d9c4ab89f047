/**
 * The dashboard's state (one immutable snapshot in a @tabswarm/ui store) and the pure functions
 * that merge what the coordinator sends into it.
 */
import type {
  ConnectionState,
  ConsensusPoint,
  JobInfo,
  LogEvent,
  NodeInfo,
  NodeLinks,
} from '@tabswarm/protocol';
import type { Store } from '@tabswarm/ui';

export type { ConnectionState } from '@tabswarm/protocol';

/** A job's samplesDone as seen at a local time: what the jobs list's samples/s is measured from. */
export interface SamplesMark {
  readonly at: number;
  readonly samplesDone: number;
}

/** Events kept in memory; the coordinator's own ring holds 2,000 too. */
export const MAX_EVENTS = 2_000;
/** Live consensus points kept in memory (every job); a job page also fetches its series. */
export const MAX_CONSENSUS_POINTS = 5_000;
/** The jobs list measures samples/s over this window of job updates. */
export const RATE_WINDOW_MS = 30_000;

export interface DashboardState {
  readonly connection: ConnectionState;
  readonly connectionDetail: string | null;
  /** Every node the coordinator has told us about, by id. */
  readonly nodes: ReadonlyMap<string, NodeInfo>;
  /** Every job, by id. */
  readonly jobs: ReadonlyMap<string, JobInfo>;
  /** Recent samplesDone marks per job (local clock), oldest first. */
  readonly jobMarks: ReadonlyMap<string, readonly SamplesMark[]>;
  /** The event log, by ascending seq, at most MAX_EVENTS. */
  readonly events: readonly LogEvent[];
  /** Each volunteer's latest gossip link report, by node id. */
  readonly links: ReadonlyMap<string, NodeLinks>;
  /** Consensus points that arrived live, oldest first, at most MAX_CONSENSUS_POINTS. */
  readonly consensus: readonly ConsensusPoint[];
  /** Coordinator clock minus this browser's clock, so ages are measured on the coordinator's clock. */
  readonly clockOffsetMs: number;
}

export const INITIAL_STATE: DashboardState = {
  connection: 'disconnected',
  connectionDetail: null,
  nodes: new Map(),
  jobs: new Map(),
  jobMarks: new Map(),
  events: [],
  links: new Map(),
  consensus: [],
  clockOffsetMs: 0,
};

export type DashboardStore = Store<DashboardState>;

/** Adds or replaces jobs, keeping a mark of each one's samplesDone at local time `at`. */
export function withJobs(
  state: Pick<DashboardState, 'jobs' | 'jobMarks'>,
  jobs: readonly JobInfo[],
  at: number,
  replaceAll = false,
): Pick<DashboardState, 'jobs' | 'jobMarks'> {
  const map = new Map(replaceAll ? [] : state.jobs);
  const marks = new Map(state.jobMarks);
  for (const job of jobs) {
    map.set(job.id, job);
    const kept = (marks.get(job.id) ?? []).filter((m) => m.at >= at - RATE_WINDOW_MS && m.at <= at);
    const last = kept[kept.length - 1];
    if (last === undefined || last.samplesDone !== job.samplesDone || at - last.at > 1000) {
      kept.push({ at, samplesDone: job.samplesDone });
    }
    marks.set(job.id, kept);
  }
  return { jobs: map, jobMarks: marks };
}

/**
 * Samples per second from the marks within the window before `now`; 0 when the job has not
 * moved in that window (the last mark is older than the window, or only one mark is left).
 */
export function samplesRate(
  marks: readonly SamplesMark[] | undefined,
  now: number,
  windowMs = RATE_WINDOW_MS,
): number {
  if (marks === undefined || marks.length === 0) return 0;
  const last = marks[marks.length - 1];
  if (last === undefined || now - last.at > windowMs) return 0;
  const first = marks.find((m) => m.at >= now - windowMs) ?? last;
  // Measured up to now, so a job that stopped moving decays towards 0 rather than freezing.
  const span = Math.max(now - first.at, 1000);
  return Math.max(0, (last.samplesDone - first.samplesDone) / (span / 1000));
}

/** Merges events by seq (a reconnect re-fetches history that overlaps what arrived live). */
export function withEvents(current: readonly LogEvent[], incoming: readonly LogEvent[]): readonly LogEvent[] {
  if (incoming.length === 0) return current;
  const last = current[current.length - 1];
  const first = incoming[0];
  // The common case: one new live event after the newest one we hold.
  if (incoming.length === 1 && first !== undefined && (last === undefined || first.seq > last.seq)) {
    const next = [...current, first];
    return next.length > MAX_EVENTS ? next.slice(next.length - MAX_EVENTS) : next;
  }
  const bySeq = new Map<number, LogEvent>();
  for (const e of current) bySeq.set(e.seq, e);
  for (const e of incoming) bySeq.set(e.seq, e);
  const merged = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  return merged.length > MAX_EVENTS ? merged.slice(merged.length - MAX_EVENTS) : merged;
}

/** Adds one live consensus point, dropping the oldest beyond MAX_CONSENSUS_POINTS. */
export function withConsensusPoint(
  current: readonly ConsensusPoint[],
  point: ConsensusPoint,
  max = MAX_CONSENSUS_POINTS,
): readonly ConsensusPoint[] {
  const next = [...current, point];
  return next.length > max ? next.slice(next.length - max) : next;
}

/**
 * Link reports from REST merged with those that arrived live: a report replaces an older one of
 * the same node (by reportedAt), so a slow REST reply does not undo a newer socket update.
 */
export function withLinks(
  current: ReadonlyMap<string, NodeLinks>,
  incoming: readonly NodeLinks[],
  replaceAll = false,
): ReadonlyMap<string, NodeLinks> {
  const next = new Map<string, NodeLinks>();
  if (!replaceAll) for (const [id, report] of current) next.set(id, report);
  for (const report of incoming) {
    const held = current.get(report.nodeId);
    next.set(report.nodeId, held !== undefined && held.reportedAt > report.reportedAt ? held : report);
  }
  return next;
}
