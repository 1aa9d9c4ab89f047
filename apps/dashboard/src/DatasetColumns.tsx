/**
 * What a CSV dataset's columns held and what was done to them: kind, the training split's
 * min/max/mean/std or the categories, and the preprocessing (standardised, raw, one-hot, dropped).
 * Datasets without a column summary (built in, binary, or stored before summaries) show nothing.
 */
import type { ColumnSummary } from '@tabswarm/protocol';
import { DataTable, type TableColumn } from '@tabswarm/ui';
import { columnRows } from './column-summary.ts';

type Props = {
  readonly summary: readonly ColumnSummary[] | undefined;
};

const COLUMNS: readonly TableColumn[] = [
  { label: 'Column' },
  { label: 'Kind' },
  { label: 'Training split', title: 'statistics over the training rows, before preprocessing' },
  { label: 'Preprocessing' },
];

export function DatasetColumns({ summary }: Props) {
  if (summary === undefined || summary.length === 0) return null;
  return (
    <details className="upload-details" data-testid="dataset-columns">
      <summary>Columns ({summary.length})</summary>
      <DataTable columns={COLUMNS} testId="dataset-column-table" height="short">
        {columnRows(summary).map((row) => (
          <tr key={row.name} data-testid="dataset-column">
            <td className="mono">{row.name}</td>
            <td>{row.kind}</td>
            <td>{row.values}</td>
            <td>{row.preprocessing}</td>
          </tr>
        ))}
      </DataTable>
    </details>
  );
}
