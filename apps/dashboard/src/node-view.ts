/**
 * What the node health table shows of a volunteer, derived from its NodeInfo, its latest gossip
 * link report and the coordinator's clock: the status a person reads (active, idle, straggler,
 * gone), staleness, the current lease, peers and traffic, and the sort order of each column; and
 * the topology's edges from every node's link report. Pure, so it is unit-tested.
 */
import { isStraggler } from '@tabswarm/core';
import { LINK_KINDS, type LinkKind, type NodeInfo, type NodeLinks } from '@tabswarm/protocol';
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
  /** From the node's latest link report; null when it has sent none. */
  readonly links: LinkSummary | null;
}

/** One volunteer's link report, summed for the table. */
export interface LinkSummary {
  readonly reportedAt: number;
  /** Peers it has a link to (or tried to). */
  readonly peers: number;
  readonly byKind: Readonly<Record<LinkKind, number>>;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Frames from its peers dropped on receipt, over all reasons. */
  readonly rejected: number;
  /** Bytes its averaging sent and received (gossip exchanges, FedAvg rounds); null before any. */
  readonly averaging: { readonly bytesOut: number; readonly bytesIn: number } | null;
  /** Rejected frames by reason, largest first. */
  readonly rejectedByReason: readonly (readonly [string, number])[];
  readonly quarantined: readonly string[];
}

export function linkSummary(report: NodeLinks): LinkSummary {
  const byKind: Record<LinkKind, number> = { direct: 0, relay: 0, failed: 0 };
  const peers = new Set<string>();
  const reasons = new Map<string, number>();
  let bytesIn = 0;
  let bytesOut = 0;
  let rejected = 0;
  for (const link of report.links) {
    peers.add(link.peer);
    byKind[link.kind] += 1;
    bytesIn += link.bytesIn;
    bytesOut += link.bytesOut;
    for (const [reason, n] of Object.entries(link.rejected)) {
      rejected += n;
      reasons.set(reason, (reasons.get(reason) ?? 0) + n);
    }
  }
  return {
    reportedAt: report.reportedAt,
    peers: peers.size,
    byKind,
    bytesIn,
    bytesOut,
    rejected,
    averaging: report.averaging ?? null,
    rejectedByReason: [...reasons.entries()]
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
    quarantined: report.quarantined,
  };
}

/** An undirected edge of the topology. */
export interface TopologyLink {
  readonly from: string;
  readonly to: string;
  readonly kind: LinkKind;
}

const KIND_RANK: Record<LinkKind, number> = { direct: 0, relay: 1, failed: 2 };

/**
 * The topology's edges from every node's latest link report: one per pair of nodes (ids in
 * order), whichever side reported it. Links that are closed but did not fail (evicted, shut down) are
 * left out; when the two sides disagree the better kind wins (direct, then relay, then failed),
 * since a working link exists.
 */
export function topologyLinks(reports: Iterable<NodeLinks>): TopologyLink[] {
  const edges = new Map<string, TopologyLink>();
  for (const report of reports) {
    for (const link of report.links) {
      if (link.peer === report.nodeId) continue;
      if (!link.open && link.kind !== 'failed') continue;
      const [from, to] = report.nodeId < link.peer ? [report.nodeId, link.peer] : [link.peer, report.nodeId];
      const key = `${from}\u0000${to}`;
      const seen = edges.get(key);
      if (seen === undefined || KIND_RANK[link.kind] < KIND_RANK[seen.kind]) {
        edges.set(key, { from, to, kind: link.kind });
      }
    }
  }
  return [...edges.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
}

/** Edges by kind, for the topology's legend. */
export function countLinkKinds(links: readonly TopologyLink[]): Record<LinkKind, number> {
  const counts = Object.fromEntries(LINK_KINDS.map((k) => [k, 0])) as Record<LinkKind, number>;
  for (const link of links) counts[link.kind] += 1;
  return counts;
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

export function nodeView(node: NodeInfo, now: number, links: NodeLinks | null = null): NodeView {
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
    links: links === null ? null : linkSummary(links),
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
  'peers',
  'bytes',
  'averagingBytes',
  'rejected',
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
    case 'peers':
      return view.links?.peers ?? null;
    case 'bytes':
      return view.links === null ? null : view.links.bytesIn + view.links.bytesOut;
    case 'averagingBytes': {
      const averaging = view.links?.averaging ?? null;
      return averaging === null ? null : averaging.bytesOut + averaging.bytesIn;
    }
    case 'rejected':
      return view.links?.rejected ?? null;
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
