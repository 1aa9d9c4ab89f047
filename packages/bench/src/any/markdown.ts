/** Markdown tables for the terminal: padded so they read as plain text and render as tables. */

/** Column alignment: text left, numbers right. */
export type Align = 'left' | 'right';

export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = header.map((_, i) => (i === 0 ? 'left' : 'right')),
): string {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const pad = (cell: string, i: number): string =>
    align[i] === 'right' ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number);
  const line = (cells: readonly string[]): string =>
    `| ${header.map((_, i) => pad(cells[i] ?? '', i)).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (align[i] === 'right' ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** "met" or "missed by X" against a goal of at least `goal` (a ratio or a fraction). */
export function goalVerdict(value: number, goal: number, format: (x: number) => string): string {
  return value >= goal ? 'met' : `missed by ${format(goal - value)}`;
}
