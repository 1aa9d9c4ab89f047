import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordFixture } from './report-fixture.ts';
import { faultBands, renderReportHtml } from './report-html.ts';
import { writeReport } from './report-json.ts';
import { stateOf } from './report-nodes.ts';
import { formatSummaryTable, summaryRows } from './summary-table.ts';

const small = recordFixture(6);
const big = recordFixture(1000, 0);

describe('report page', () => {
  it('is self-contained: no scripts, no URLs, nothing loaded from anywhere', () => {
    for (const html of [renderReportHtml(small), renderReportHtml(big)]) {
      expect(html).not.toMatch(/https?:\/\//i);
      expect(html).not.toMatch(/\b(src|href|xlink:href)\s*=/i);
      expect(html).not.toMatch(/<script|<link|<iframe|<img|@import|url\(/i);
    }
    // The coordinator URL is still shown, written so that no literal URL is in the file.
    expect(renderReportHtml(small)).toContain('http&#58;//127.0.0.1:4000');
  });

  it('has every chart, the fault timeline, the summary and the escaped logs', () => {
    const html = renderReportHtml(small);
    for (const label of [
      'test accuracy over time',
      'test loss over time',
      'test accuracy against samples',
      'test loss against samples',
      'consensus distance over time',
      'fault timeline',
      'volunteers by state',
      'samples per second per volunteer',
      'state and speed of each volunteer',
      'bytes per volunteer',
    ])
      expect(html).toContain(`aria-label="${label}"`);
    expect(html).toContain('94.12 %');
    expect(html).toContain('volunteer joined &#60;from a &#34;page&#34;&#62;');
    expect(html).not.toContain('<from a');
    // One strip per node at this size.
    for (const node of small.nodes) expect(html).toContain(`>${node.label}</text>`);
  });

  it('shows a thousand volunteers as aggregates, not a thousand strips', () => {
    const html = renderReportHtml(big);
    expect(html).not.toContain('aria-label="state and speed of each volunteer"');
    expect(html).toContain('1000 volunteers: shown as aggregates');
    expect(html).not.toContain('>virtual-500</text>');
    expect(html.length).toBeLessThan(500_000);
  });

  it('pairs offline with online and partition with heal for the shaded stretches', () => {
    const bands = faultBands(small.faults, 600_000);
    const offline = small.faults.find((f) => f.kind === 'offline');
    const online = small.faults.find((f) => f.kind === 'online');
    expect(bands).toContainEqual(expect.objectContaining({ x0: offline?.t, x1: online?.t }));
    expect(bands).toHaveLength(2);
    // One not ended runs to the end of the axis.
    expect(
      faultBands(
        small.faults.filter((f) => f.kind !== 'heal'),
        600_000,
      ),
    ).toContainEqual(expect.objectContaining({ x1: 600_000, label: 'partition (not ended)' }));
  });

  it('groups free-form statuses into states', () => {
    expect(stateOf('connected/training')).toBe('working');
    expect(stateOf('connected/idle')).toBe('idle');
    expect(stateOf('reconnecting/training')).toBe('offline');
    expect(stateOf('gone')).toBe('gone');
    expect(stateOf('connected/calibrating')).toBe('starting');
    expect(stateOf('weird')).toBe('other');
  });
});

describe('summary table', () => {
  it('lists every figure of the summary', () => {
    const rows = Object.fromEntries(summaryRows(small));
    expect(rows).toMatchObject({
      outcome: 'completed',
      'final accuracy': '94.12 % (loss 0.201)',
      'wall time': '10:00 (600.0 s)',
      samples: '300,000',
      'shards counted once': '250 of 250 (none twice)',
      'shards re-issued': '3',
      'duplicates rejected': '1',
      'bytes exchanged per volunteer': '4.6 MB',
      'rejected frames': '2',
      'lease latency p50 / p99': '≤ 2.5 ms / ≤ 50 ms',
      'faults done / planned': '5 / 6 (could not be carried out: restart-coordinator)',
      volunteers: '4 browsers (processes) + 2 virtual',
    });
    const table = formatSummaryTable(small);
    expect(table).toMatch(/^ {2}duplicates rejected {2,}1$/m);
    expect(table).toContain('bounds 1, 2.5, 5, 10, 25');
  });

  it('says n/a where nothing was measured', () => {
    const none = {
      ...small,
      summary: {
        ...small.summary,
        finalAccuracy: null,
        leaseLatencyMs: { p50: null, p99: Infinity },
        ledger: null,
      },
    };
    const rows = Object.fromEntries(summaryRows(none));
    expect(rows['final accuracy']).toMatch(/^n\/a/);
    expect(rows['lease latency p50 / p99']).toBe('n/a / > 10 s');
    expect(rows['shards counted once']).toMatch(/^n\/a/);
  });

  it('names the faults that could not be carried out', () => {
    const failed = {
      ...(small.faults[0] as (typeof small.faults)[number]),
      kind: 'join' as const,
      ok: false,
    };
    const rows = Object.fromEntries(
      summaryRows({ ...small, faults: [...small.faults.map((f) => ({ ...f, ok: true })), failed] }),
    );
    expect(rows['faults done / planned']).toBe('5 / 6 (could not be carried out: join)');
  });

  it('names shards not counted and counted twice', () => {
    const ledger = { shards: 250, countedOnce: 246, uncounted: 3, countedTwice: 1 };
    const rows = Object.fromEntries(summaryRows({ ...small, summary: { ...small.summary, ledger } }));
    expect(rows['shards counted once']).toBe('246 of 250 (3 not counted, 1 counted twice)');
  });
});

describe('report folder', () => {
  it('writes record.json with every series and report.html', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'simulate-report-')), 'nested', 'run');
    const written = await writeReport(dir, small);
    expect(JSON.parse(readFileSync(written.json, 'utf8'))).toEqual(small);
    expect(readFileSync(written.html, 'utf8')).toMatch(/^<!doctype html>/);
  });
});
