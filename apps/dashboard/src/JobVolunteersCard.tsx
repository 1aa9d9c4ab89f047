/** The volunteers that trained a job: shards and samples each contributed, its last loss, and its status now. */
import { isStraggler } from '@tabswarm/core';
import type { NodeInfo } from '@tabswarm/protocol';
import { Card, DataTable, type TableColumn } from '@tabswarm/ui';
import { formatAge, formatLoss, formatNumber } from './format.ts';
import type { JobSeries, NodeTrainingStats } from './job-series.ts';
import { deriveStatus } from './node-view.ts';

type Props = {
  readonly series: JobSeries;
  readonly nodes: ReadonlyMap<string, NodeInfo>;
  readonly serverNow: number;
};

const COLUMNS: readonly TableColumn[] = [
  { label: 'Node' },
  { label: 'Status' },
  { label: 'Shards', num: true },
  { label: 'Samples', num: true },
  { label: 'Last loss', num: true },
  { label: 'Last shard' },
];

function VolunteerRow({
  stats: s,
  node,
  serverNow,
}: {
  readonly stats: NodeTrainingStats;
  readonly node: NodeInfo | undefined;
  readonly serverNow: number;
}) {
  const status = node === undefined ? 'unknown' : deriveStatus(node, serverNow);
  const lease = node?.health?.lease ?? null;
  return (
    <tr
      data-testid="job-volunteer-row"
      data-node-id={s.nodeId}
      className={status === 'gone' ? 'gone' : undefined}
    >
      <td className="mono">{s.nodeId}</td>
      <td>
        <span className={`badge status-${status}`}>{status}</span>
        {lease !== null && isStraggler(lease, serverNow) && <span className="detail"> (slow lease)</span>}
      </td>
      <td className="num">
        {formatNumber(s.counted)}
        {s.completions > s.counted && <span className="detail"> (+{s.completions - s.counted} late)</span>}
      </td>
      <td className="num">{formatNumber(s.samples)}</td>
      <td className="num">{formatLoss(s.lastLoss)}</td>
      <td>{formatAge(s.lastAt, serverNow)}</td>
    </tr>
  );
}

export function JobVolunteersCard({ series, nodes, serverNow }: Props) {
  const stats = series.nodeStats().sort((a, b) => b.counted - a.counted || a.nodeId.localeCompare(b.nodeId));
  return (
    <Card
      headingId="volunteers-heading"
      title={
        <>
          Volunteers on this job{' '}
          <span className="detail" data-testid="job-volunteer-count">
            {stats.length}
          </span>
        </>
      }
    >
      {stats.length === 0 ? (
        <p className="empty" data-testid="job-volunteers-empty">
          No volunteer has completed a shard of this job yet.
        </p>
      ) : (
        <DataTable columns={COLUMNS} testId="job-volunteers" height="short">
          {stats.map((s) => (
            <VolunteerRow key={s.nodeId} stats={s} node={nodes.get(s.nodeId)} serverNow={serverNow} />
          ))}
        </DataTable>
      )}
    </Card>
  );
}
