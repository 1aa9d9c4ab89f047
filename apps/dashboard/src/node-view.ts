/**
 * What the node health table shows of a volunteer, derived from its NodeInfo and the
 * coordinator's clock: the status a person reads (active, idle, straggler, gone), staleness, the
 * current lease, and the sort order of each column. Pure, so it is unit-tested.
 */
import { isStraggler, type NodeInfo } from '@tabswarm/protocol';
import { adapterLabel, selfTestLabel, sortNodes, type SelfTestLabel } from './format.ts';

export const DERIVED_STATUSES = ['straggler', 'active', 'idle', 'gone'] as const;
export type DerivedStatus = (typeof DERIVED_STATUSES)[number];

/** A live node silent for longer than this is drawn greyed: heartbeats come every ~2 s. */
export const STALE_AFTER_MS = 5_000;

export interface LeaseView {
  readonly leaseId: string;
  readonly jobId: string;
  readonly issuedAt: number;
  readonly deadline: number;
  /** Negative once the deadline has passed. */
  readonly msLeft: number;
  readonly stepsDone: number;
  readonly steps: number;
}

export interface NodeView {
  readonly node: NodeInfo;
  readonly id: string;
  readonly backend: string;
  readonly adapter: string;
  readonly status: DerivedStatus;
  readonly stale: boolean;
  readonly heartbeatAgeMs: number;
  readonly samplesPerSec: number | null;
  readonly shardsDone: number | null;
  readonly lastLoss: number | null;
  readonly lease: LeaseView | null;
  readonly selfTest: SelfTestLabel;
}

/**
 * gone: the coordinator marked it so; straggler: its lease has run past the scheduler's straggler
 * fraction of the deadline window (the rule `isStraggler` shares with the scheduler); active: it
 * is working or holds a lease; idle otherwise (idle or paused).
 */
export function deriveStatus(node: NodeInfo, now: number): DerivedStatus {
  if (node.status === 'gone') return 'gone';
  const lease = node.health?.lease ?? null;
  if (lease !== null && isStraggler(lease, now)) return 'straggler';
  if (lease !== null || node.state === 'working') return 'active';
  return 'idle';
}

export function nodeView(node: NodeInfo, now: number): NodeView {
  const health = node.health;
  const lease = health?.lease ?? null;
  const heartbeatAgeMs = Math.max(0, now - node.lastSeenAt);
  return {
    node,
    id: node.id,
    backend: node.capabilities.backend,
    adapter: adapterLabel(node.capabilities.adapter),
    status: deriveStatus(node, now),
    stale: node.status !== 'gone' && heartbeatAgeMs > STALE_AFTER_MS,
    heartbeatAgeMs,
    samplesPerSec: health?.samplesPerSec ?? null,
    shardsDone: health?.shardsDone ?? null,
    lastLoss: health?.lastLoss ?? null,
    lease:
      lease === null
        ? null
        : {
            leaseId: lease.leaseId,
            jobId: lease.jobId,
            issuedAt: lease.issuedAt,
            deadline: lease.deadline,
            msLeft: lease.deadline - now,
            stepsDone: lease.stepsDone,
            steps: lease.steps,
          },
    selfTest: selfTestLabel(node),
  };
}

export const NODE_SORT_KEYS = [
  'default',
  'id',
  'backend',
  'status',
  'selfTest',
  'heartbeat',
  'samplesPerSec',
  'shardsDone',
  'lease',
] as const;
export type NodeSortKey = (typeof NODE_SORT_KEYS)[number];
export type SortDirection = 'asc' | 'desc';

const STATUS_RANK: Record<DerivedStatus, number> = { straggler: 0, active: 1, idle: 2, gone: 3 };
const SELF_TEST_RANK: Record<SelfTestLabel, number> = { failed: 0, pending: 1, passed: 2 };

type SortValue = string | number | null;

function sortValue(view: NodeView, key: Exclude<NodeSortKey, 'default'>): SortValue {
  switch (key) {
    case 'id':
      return view.id;
    case 'backend':
      return `${view.backend} ${view.adapter}`;
    case 'status':
      return STATUS_RANK[view.status];
    case 'selfTest':
      return SELF_TEST_RANK[view.selfTest];
    case 'heartbeat':
      return view.heartbeatAgeMs;
    case 'samplesPerSec':
      return view.samplesPerSec;
    case 'shardsDone':
      return view.shardsDone;
    case 'lease':
      return view.lease?.msLeft ?? null;
  }
}

/**
 * Sorted by one column; empty values (no health reported, no lease) always last, ties by id.
 * 'default' is the coordinator-wide order: active first, then the most recently joined.
 */
export function sortNodeViews(
  views: readonly NodeView[],
  key: NodeSortKey,
  direction: SortDirection,
): NodeView[] {
  if (key === 'default') {
    const order = sortNodes(views.map((v) => v.node));
    const byId = new Map(views.map((v) => [v.id, v]));
    const sorted = order.flatMap((n) => byId.get(n.id) ?? []);
    return direction === 'asc' ? sorted : sorted.reverse();
  }
  const sign = direction === 'asc' ? 1 : -1;
  return [...views].sort((a, b) => {
    const va = sortValue(a, key);
    const vb = sortValue(b, key);
    if (va === null || vb === null) {
      if (va !== vb) return va === null ? 1 : -1;
      return a.id.localeCompare(b.id);
    }
    const order =
      typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
    return order !== 0 ? sign * order : a.id.localeCompare(b.id);
  });
}

export function countByStatus(views: readonly NodeView[]): Record<DerivedStatus, number> {
  const counts: Record<DerivedStatus, number> = { straggler: 0, active: 0, idle: 0, gone: 0 };
  for (const v of views) counts[v.status] += 1;
  return counts;
}
