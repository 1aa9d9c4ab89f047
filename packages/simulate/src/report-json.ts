/** The report folder: record.json (every series and event, as recorded) beside report.html. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SimulationRecord } from './record.ts';
import { renderReportHtml } from './report-html.ts';

export interface WrittenReport {
  readonly dir: string;
  readonly json: string;
  readonly html: string;
}

/** Writes record.json and report.html into `dir` (created if missing); returns their paths. */
export async function writeReport(dir: string, record: SimulationRecord): Promise<WrittenReport> {
  await mkdir(dir, { recursive: true });
  const json = path.join(dir, 'record.json');
  const html = path.join(dir, 'report.html');
  // Indented while a person might read it; compact for big swarms (a point per node per poll).
  const indent = record.nodes.length > 50 ? undefined : 1;
  await writeFile(json, `${JSON.stringify(record, null, indent)}\n`);
  await writeFile(html, renderReportHtml(record));
  return { dir, json, html };
}
