/** A table with one header row of column labels inside a scroll box: the shape of every list on both pages. */
import type { ReactNode } from 'react';

export interface TableColumn {
  readonly label: ReactNode;
  /** React key, needed when the label is not a string. */
  readonly key?: string;
  /** Right-aligned, with tabular figures. */
  readonly num?: boolean;
  readonly title?: string;
  /** Set on the column the rows are sorted by. */
  readonly sort?: 'ascending' | 'descending';
}

type Props = {
  readonly columns: readonly TableColumn[];
  /** The body rows. */
  readonly children?: ReactNode;
  /** Classes besides `table`. */
  readonly className?: string;
  readonly testId?: string;
  /** How tall the box may grow before it scrolls: unbounded, 360 px or 70 % of the window. */
  readonly height?: 'short' | 'tall';
};

export function DataTable({ columns, children, className, testId, height }: Props) {
  return (
    <div className={height === undefined ? 'table-scroll' : `table-scroll ${height}`}>
      <table className={className === undefined ? 'table' : `table ${className}`} data-testid={testId}>
        <thead>
          <tr>
            {columns.map((column, i) => (
              <th
                key={column.key ?? (typeof column.label === 'string' ? column.label : i)}
                scope="col"
                className={column.num === true ? 'num' : undefined}
                title={column.title}
                aria-sort={column.sort}
              >
                {column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
