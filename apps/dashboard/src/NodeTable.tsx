/**
 * The node health table: every volunteer with its backend, status (active, idle, straggler,
 * gone), self-test, heartbeat age, throughput, current lease, and — from its gossip link
 * reports — peers, link kinds, traffic, what its averaging sent and received, and rejected frames. Sortable by column; stale and gone rows are greyed.
 */
import { useMemo, useState } from 'react';
import { LINK_KINDS, type NodeInfo, type NodeLinks } from '@tabswarm/protocol';
import { Card, DataTable, type TableColumn } from '@tabswarm/ui';
import { formatAge, formatBytes, formatDuration, formatNumber, NONE } from './format.ts';
import { jobHref } from './routes.ts';
import {
  countByStatus,
  nodeView,
  sortNodeViews,
  STALE_AFTER_MS,
  type NodeSortKey,
  type NodeView,
  type SortDirection,
} from './node-view.ts';

type Props = {
  readonly nodes: ReadonlyMap<string, NodeInfo>;
  readonly links: ReadonlyMap<string, NodeLinks>;
  readonly serverNow: number;
};

type Column = {
  readonly key: NodeSortKey | null;
  readonly label: string;
  readonly title?: string;
};

const NO_REPORT = 'This volunteer has not reported its gossip links.';

const COLUMNS: readonly Column[] = [
  { key: 'id', label: 'Node' },
  { key: 'backend', label: 'Backend / adapter' },
  { key: 'status', label: 'Status', title: 'straggler: its lease has run past half its deadline window' },
  { key: 'selfTest', label: 'Self-test' },
  { key: 'heartbeat', label: 'Last heartbeat' },
  { key: 'samplesPerSec', label: 'Samples/s' },
  { key: 'shardsDone', label: 'Shards' },
  { key: 'lease', label: 'Lease (deadline)' },
  {
    key: null,
    label: 'Trust / credit',
    title: 'from replicated work (validated work): standing, trust, validated samples',
  },
  {
    key: 'peers',
    label: 'Peers / links',
    title: 'links by kind: direct (WebRTC), relay (coordinator), failed',
  },
  { key: 'bytes', label: 'Bytes in / out', title: 'over all its links, frames and control' },
  {
    key: 'averagingBytes',
    label: 'Averaging sent / received',
    title: 'what its averaging moved: gossip exchanges as it reported them, FedAvg uploads and averages',
  },
  { key: 'rejected', label: 'Rejected', title: 'frames from its peers dropped on receipt' },
];

function NodeRow({ view }: { readonly view: NodeView }) {
  const { node } = view;
  const report = node.selfTest;
  const classes = [view.status === 'gone' ? 'gone' : view.stale ? 'stale' : '', `row-${view.status}`]
    .filter(Boolean)
    .join(' ');
  return (
    <tr
      data-testid="node-row"
      data-node-id={node.id}
      data-status={node.status}
      data-derived-status={view.status}
      data-stale={view.stale ? 'true' : 'false'}
      data-backend={node.capabilities.backend}
      className={classes}
    >
      <td className="mono">{node.id}</td>
      <td>
        <span className="mono">{node.capabilities.backend}</span>
        {node.capabilities.fallbackReason !== null && (
          <span className="detail" title={node.capabilities.fallbackReason}>
            {' '}
            (fallback)
          </span>
        )}
        <div className="detail">{view.adapter}</div>
      </td>
      <td>
        <span className={`badge status-${view.status}`} data-testid="node-status">
          {view.status}
        </span>
        {node.state === 'paused' && <span className="detail"> paused</span>}
        {view.stale && <span className="detail"> stale</span>}
      </td>
      <td>
        <span className={`badge selftest-${view.selfTest}`} title={report?.error ?? undefined}>
          {view.selfTest}
        </span>
        {report !== null && <span className="detail"> {report.path}</span>}
      </td>
      <td data-testid="last-seen" title={`stale after ${STALE_AFTER_MS / 1000} s without a heartbeat`}>
        {formatAge(node.lastSeenAt, node.lastSeenAt + view.heartbeatAgeMs)}
      </td>
      <td className="num">{formatNumber(view.samplesPerSec, 1)}</td>
      <td className="num">{formatNumber(view.shardsDone)}</td>
      <td>
        {view.lease === null ? (
          NONE
        ) : (
          <>
            <a href={jobHref(view.lease.jobId)} className="mono">
              {view.lease.jobId}
            </a>
            <div className="detail">
              {view.lease.msLeft >= 0 ? `${formatDuration(view.lease.msLeft)} left` : 'deadline passed'} ·
              step {view.lease.stepsDone}/{view.lease.steps}
            </div>
          </>
        )}
      </td>
      <TrustCell node={node} />
      <LinkCells view={view} />
    </tr>
  );
}

function TrustCell({ node }: { readonly node: NodeInfo }) {
  const trust = node.trust;
  if (trust === undefined)
    return (
      <td data-testid="node-trust" title="none of its work was replicated yet">
        {NONE}
      </td>
    );
  return (
    <td data-testid="node-trust" data-standing={trust.standing}>
      <span className={`badge trust-${trust.standing}`}>{trust.standing}</span>
      <div className="detail">
        {trust.trust.toFixed(2)} · {formatNumber(trust.credit)} samples
      </div>
    </td>
  );
}

function LinkCells({ view }: { readonly view: NodeView }) {
  const links = view.links;
  if (links === null) {
    return (
      <>
        <td title={NO_REPORT} data-testid="node-peers">
          {NONE}
        </td>
        <td title={NO_REPORT} data-testid="node-bytes">
          {NONE}
        </td>
        <td title={NO_REPORT} data-testid="node-averaging-bytes">
          {NONE}
        </td>
        <td title={NO_REPORT} data-testid="node-rejected">
          {NONE}
        </td>
      </>
    );
  }
  const reasons = links.rejectedByReason.map(([reason, n]) => `${reason} ${n}`).join(', ');
  return (
    <>
      <td data-testid="node-peers" data-peers={links.peers}>
        <span className="num">{links.peers}</span>
        <div className="detail">
          {LINK_KINDS.filter((kind) => links.byKind[kind] > 0).map((kind, i) => (
            <span key={kind} className={`link-kind link-kind-${kind}`} data-kind={kind}>
              {i > 0 ? ' · ' : ''}
              {links.byKind[kind]} {kind}
            </span>
          ))}
          {links.quarantined.length > 0 && (
            <span title={links.quarantined.join(', ')}> · {links.quarantined.length} quarantined</span>
          )}
        </div>
      </td>
      <td className="num" data-testid="node-bytes">
        {formatBytes(links.bytesIn)} / {formatBytes(links.bytesOut)}
      </td>
      <td className="num" data-testid="node-averaging-bytes">
        {links.averaging === null
          ? NONE
          : `${formatBytes(links.averaging.bytesOut)} / ${formatBytes(links.averaging.bytesIn)}`}
      </td>
      <td className="num" data-testid="node-rejected" title={reasons === '' ? undefined : reasons}>
        {formatNumber(links.rejected)}
      </td>
    </>
  );
}

export function NodeTable({ nodes, links, serverNow }: Props) {
  const [sort, setSort] = useState<{ key: NodeSortKey; direction: SortDirection }>({
    key: 'default',
    direction: 'asc',
  });
  const views = useMemo(
    () => [...nodes.values()].map((n) => nodeView(n, serverNow, links.get(n.id) ?? null)),
    [nodes, links, serverNow],
  );
  const sorted = useMemo(() => sortNodeViews(views, sort.key, sort.direction), [views, sort]);
  const live = views.filter((v) => v.node.status === 'active').length;
  const counts = countByStatus(views);

  const toggle = (key: NodeSortKey): void =>
    setSort((s) => ({ key, direction: s.key === key && s.direction === 'asc' ? 'desc' : 'asc' }));
  const columns = COLUMNS.map((column): TableColumn => {
    const active = column.key !== null && sort.key === column.key;
    const { key } = column;
    return {
      key: column.label,
      ...(column.title === undefined ? {} : { title: column.title }),
      ...(active ? { sort: sort.direction === 'asc' ? 'ascending' : 'descending' } : {}),
      label:
        key === null ? (
          column.label
        ) : (
          <button
            type="button"
            className="sort-button"
            data-testid={`sort-${key}`}
            onClick={() => toggle(key)}
          >
            {column.label}
            <span aria-hidden="true" className="sort-mark">
              {active ? (sort.direction === 'asc' ? ' ▲' : ' ▼') : ''}
            </span>
          </button>
        ),
    };
  });

  return (
    <Card
      headingId="nodes-heading"
      title={
        <>
          Nodes{' '}
          <span className="detail">
            <span data-testid="active-count">{live}</span> active of{' '}
            <span data-testid="node-count">{views.length}</span>
            {views.length > 0 && (
              <>
                {' '}
                · {counts.active} working, {counts.idle} idle, {counts.straggler} straggling, {counts.gone}{' '}
                gone
              </>
            )}
          </span>
        </>
      }
    >
      {views.length === 0 ? (
        <p className="empty">No volunteer has joined yet. Open the volunteer page and press Start.</p>
      ) : (
        <DataTable columns={columns} className="nodes" testId="node-table">
          {sorted.map((view) => (
            <NodeRow key={view.id} view={view} />
          ))}
        </DataTable>
      )}
    </Card>
  );
}
