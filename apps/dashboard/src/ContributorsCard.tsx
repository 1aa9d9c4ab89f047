/**
 * Contributors (validated work): every volunteer whose replicated work the coordinator judged,
 * with its credit (validated samples), trust and standing, most credit first. Live from node
 * info, which carries each volunteer's trust; nothing is polled.
 */
import { useMemo } from 'react';
import type { NodeInfo, VolunteerTrust } from '@tabswarm/protocol';
import { Card, DataTable, type TableColumn } from '@tabswarm/ui';
import { formatNumber } from './format.ts';

type Props = {
  readonly nodes: ReadonlyMap<string, NodeInfo>;
};

const COLUMNS: readonly TableColumn[] = [
  { key: 'node', label: 'Volunteer' },
  {
    key: 'credit',
    label: 'Credit',
    num: true,
    title: 'training samples of its work that replicas validated',
  },
  {
    key: 'standing',
    label: 'Standing',
    title: 'distrusted: its replicated work was outvoted; it gets no leases',
  },
  {
    key: 'trust',
    label: 'Trust',
    num: true,
    title: '0.5 at first; agreement raises it, being outvoted lowers it',
  },
  { key: 'results', label: 'Agreed / outvoted / inconclusive', num: true },
];

type Row = { readonly node: NodeInfo; readonly trust: VolunteerTrust };

/** Judged volunteers, most credit first (then most trusted, then by id). */
export function contributorRows(nodes: Iterable<NodeInfo>): Row[] {
  const rows: Row[] = [];
  for (const node of nodes) if (node.trust !== undefined) rows.push({ node, trust: node.trust });
  return rows.sort(
    (a, b) =>
      b.trust.credit - a.trust.credit ||
      b.trust.trust - a.trust.trust ||
      (a.node.id < b.node.id ? -1 : a.node.id > b.node.id ? 1 : 0),
  );
}

export function ContributorsCard({ nodes }: Props) {
  const rows = useMemo(() => contributorRows(nodes.values()), [nodes]);
  const distrusted = rows.filter((r) => r.trust.standing === 'distrusted').length;
  return (
    <Card
      headingId="contributors-heading"
      title={
        <>
          Contributors{' '}
          <span className="detail">
            <span data-testid="contributor-count">{rows.length}</span> judged
            {distrusted > 0 && <>, {distrusted} distrusted</>}
          </span>
        </>
      }
    >
      {rows.length === 0 ? (
        <p className="empty">
          No replicated work judged yet. Jobs with <code>validation.replication</code> above 0 give a share of
          their shards to two volunteers and credit the work that agrees.
        </p>
      ) : (
        <DataTable columns={COLUMNS} className="contributors" testId="contributors-table">
          {rows.map(({ node, trust }) => (
            <tr
              key={node.id}
              data-testid="contributor-row"
              data-node-id={node.id}
              data-standing={trust.standing}
              className={trust.standing === 'distrusted' ? 'row-distrusted' : undefined}
            >
              <td className="mono">{node.id}</td>
              <td className="num" data-testid="contributor-credit">
                {formatNumber(trust.credit)}
              </td>
              <td>
                <span className={`badge trust-${trust.standing}`}>{trust.standing}</span>
              </td>
              <td className="num">{trust.trust.toFixed(2)}</td>
              <td className="num">
                {trust.valid} / {trust.invalid} / {trust.inconclusive}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </Card>
  );
}
