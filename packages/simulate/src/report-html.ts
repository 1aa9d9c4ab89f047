/**
 * The report page: one self-contained HTML file (inline CSS, inline SVG rendered here, no scripts,
 * no external references) that opens from disk. Every time chart and the fault timeline share one
 * x axis, so a fault lines up with what it did to accuracy, consensus and the volunteers.
 */
import type { FaultEvent, FaultKind, SimulationRecord } from './record.ts';
import { nodeViews, STRIP_LIMIT } from './report-nodes.ts';
import {
  axes,
  clock,
  compact,
  escapeXml,
  Frame,
  lineChart,
  PLOT,
  svgOpen,
  type Band,
  type Marker,
} from './report-svg.ts';
import { LATENCY_NOTE, summaryRows } from './summary-table.ts';

const FAULT_COLORS: Record<FaultKind, string> = {
  kill: '#c62828',
  join: '#2e7d32',
  'churn-leave': '#ad1457',
  'churn-join': '#558b2f',
  straggler: '#6d4c41',
  offline: '#ef6c00',
  online: '#ef6c00',
  partition: '#6a1b9a',
  heal: '#6a1b9a',
  'restart-coordinator': '#212121',
};

const text = escapeXml;

const pct = (v: number): string => `${Math.round(v * 1000) / 10} %`;

/** Stretches between a fault and its end (offline → online, partition → heal), for shading. */
export function faultBands(faults: readonly FaultEvent[], endMs: number): Band[] {
  const bands: Band[] = [];
  const open: { kind: 'offline' | 'partition'; start: FaultEvent }[] = [];
  for (const f of faults) {
    if (f.kind === 'offline' || f.kind === 'partition') open.push({ kind: f.kind, start: f });
    const ends = f.kind === 'online' ? 'offline' : f.kind === 'heal' ? 'partition' : null;
    if (ends !== null) {
      const i = open.findIndex((o) => o.kind === ends);
      const start = open.splice(i, 1)[0];
      if (i >= 0 && start !== undefined)
        bands.push({
          x0: start.start.t,
          x1: f.t,
          color: FAULT_COLORS[ends],
          label: `${ends}: ${start.start.detail}`,
        });
    }
  }
  for (const o of open)
    bands.push({ x0: o.start.t, x1: endMs, color: FAULT_COLORS[o.kind], label: `${o.kind} (not ended)` });
  return bands;
}

export function faultMarkers(faults: readonly FaultEvent[]): Marker[] {
  return faults
    .filter((f) => f.kind !== 'straggler')
    .map((f) => ({ x: f.t, color: FAULT_COLORS[f.kind], label: `${clock(f.t)} ${f.kind}: ${f.detail}` }));
}

/** One row per fault kind on the shared time axis: ticks for instants, bars for stretches. */
function faultTimeline(record: SimulationRecord, endMs: number, bands: readonly Band[]): string {
  // An end (online, heal) shares the row of what it ends.
  const rowOf = (kind: FaultKind): FaultKind =>
    kind === 'online' ? 'offline' : kind === 'heal' ? 'partition' : kind;
  const kinds = [...new Set(record.faults.map((f) => rowOf(f.kind)))];
  if (kinds.length === 0)
    return `<p class="note">No fault fired (${record.summary.faultsPlanned} planned; the plan is under Options).</p>`;
  const row = 22;
  const height = PLOT.top + kinds.length * row + PLOT.bottom;
  const f = new Frame(
    { label: 'time since start (m:ss)', min: 0, max: endMs, format: clock },
    { label: '', min: 0, max: 1, format: String },
    height,
  );
  const parts = [svgOpen(height, 'fault timeline'), axes(f, false)];
  kinds.forEach((kind, r) => {
    const y = PLOT.top + r * row + row / 2;
    const name = kind === 'restart-coordinator' ? 'coordinator restart' : kind;
    parts.push(
      `<text class="tick" x="${PLOT.left - 6}" y="${y}" dy="0.32em" text-anchor="end">${text(name)}</text>`,
    );
    for (const b of bands.filter((b) => b.label.startsWith(kind)))
      parts.push(
        `<rect x="${f.sx(b.x0).toFixed(1)}" y="${y - 5}" width="${Math.max(2, f.sx(b.x1) - f.sx(b.x0)).toFixed(1)}" height="10" fill="${b.color}" opacity="0.35"><title>${text(b.label)}</title></rect>`,
      );
    for (const e of record.faults.filter((e) => rowOf(e.kind) === kind)) {
      const x = f.sx(e.t).toFixed(1);
      const tip = `${clock(e.t)} at ${pct(e.progress)}: ${e.detail}${e.targets.length ? ` (${e.targets.join(', ')})` : ''}${e.ok ? '' : ' — FAILED'}`;
      parts.push(
        `<path d="M${x} ${y - 8}l6 8l-6 8l-6 -8Z" fill="${e.ok ? FAULT_COLORS[kind] : '#fff'}" stroke="${FAULT_COLORS[kind]}" stroke-width="1.5"><title>${text(tip)}</title></path>`,
      );
    }
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Bytes each volunteer put on and took off the wire for exchanges, at its last observation. */
function bytesChart(record: SimulationRecord): string {
  const totals = record.nodes
    .map((n) => {
      const last = n.points.at(-1);
      return { label: n.label, bytes: last === undefined ? 0 : last.bytesSent + last.bytesReceived };
    })
    .sort((a, b) => b.bytes - a.bytes);
  if (totals.length === 0) return '<p class="note">No volunteers were observed.</p>';
  const max = Math.max(1, ...totals.map((t) => t.bytes));
  if (totals.length > STRIP_LIMIT) {
    // A distribution instead of a bar per node: how many volunteers fall in each tenth of the range.
    const bins = Array.from({ length: 10 }, () => 0);
    for (const t of totals) bins[Math.min(9, Math.floor((t.bytes / max) * 10))]! += 1;
    const f = new Frame(
      { label: 'bytes exchanged (sent + received)', min: 0, max, format: (v) => compact(v, 'B') },
      { label: 'volunteers', min: 0, max: Math.max(1, ...bins), format: String },
      220,
    );
    const w = (PLOT.width - PLOT.left - PLOT.right) / 10;
    const bars = bins.map((count, i) => {
      const y = f.sy(count);
      return `<rect x="${(PLOT.left + i * w + 1).toFixed(1)}" y="${y.toFixed(1)}" width="${(w - 2).toFixed(1)}" height="${(PLOT.top + f.innerHeight - y).toFixed(1)}" fill="#00838f"><title>${count} volunteers</title></rect>`;
    });
    return [svgOpen(f.height, 'bytes per volunteer'), axes(f), ...bars, '</svg>'].join('');
  }
  const row = 14;
  const height = PLOT.top + totals.length * row + PLOT.bottom;
  const f = new Frame(
    { label: 'bytes exchanged (sent + received)', min: 0, max, format: (v) => compact(v, 'B') },
    { label: '', min: 0, max: 1, format: String },
    height,
  );
  const bars = totals.map((t, r) => {
    const y = PLOT.top + r * row;
    return `<text class="tick" x="${PLOT.left - 6}" y="${y + row / 2}" dy="0.32em" text-anchor="end">${text(t.label)}</text><rect x="${PLOT.left}" y="${y + 2}" width="${(f.sx(t.bytes) - PLOT.left).toFixed(1)}" height="${row - 4}" fill="#00838f"><title>${text(`${t.label}: ${compact(t.bytes, 'B')}`)}</title></rect>`;
  });
  return [svgOpen(height, 'bytes per volunteer'), axes(f, false), ...bars, '</svg>'].join('');
}

export function renderReportHtml(record: SimulationRecord): string {
  const s = record.summary;
  const endMs = Math.max(
    1000,
    s.wallSeconds * 1000,
    ...record.samples.map((p) => p.t),
    ...record.faults.map((f) => f.t),
  );
  const time = { label: 'time since start (m:ss)', min: 0, max: endMs, format: clock };
  const markers = faultMarkers(record.faults);
  const bands = faultBands(record.faults, endMs);
  const marks = { markers, bands };
  const evaluated = record.checkpoints.filter((c) => c.accuracy !== null);
  const withLoss = record.checkpoints.filter((c) => c.loss !== null);
  const maxSamples = Math.max(
    1,
    ...record.checkpoints.map((c) => c.samplesSeen),
    ...record.samples.map((p) => p.samplesSeen),
  );
  const maxLoss = Math.max(0.1, ...withLoss.map((c) => c.loss ?? 0)) * 1.05;
  const samplesAxis = {
    label: 'training samples seen',
    min: 0,
    max: maxSamples,
    format: (v: number) => compact(v),
  };
  const accAxis = {
    label: 'test accuracy',
    min: 0,
    max: 1,
    format: (v: number) => `${Math.round(v * 100)}%`,
  };
  const lossAxis = { label: 'test loss', min: 0, max: maxLoss, format: (v: number) => v.toFixed(2) };
  const accuracy = { name: 'test accuracy', color: '#1565c0', dots: true };
  const loss = { name: 'test loss', color: '#c62828', dots: true };
  const consensus = record.samples.filter((p) => p.consensusDistance !== null);
  const maxDistance = Math.max(0.01, ...consensus.map((p) => p.consensusDistance ?? 0)) * 1.05;
  const maxAlive = Math.max(1, ...record.samples.map((p) => p.alive.browsers + p.alive.virtual));
  const views = nodeViews(record, endMs, markers, bands);

  const charts = {
    accTime: lineChart({
      title: 'test accuracy over time',
      x: time,
      y: accAxis,
      series: [{ ...accuracy, points: evaluated.map((c) => [c.t, c.accuracy ?? 0] as const) }],
      ...marks,
    }),
    lossTime: lineChart({
      title: 'test loss over time',
      x: time,
      y: lossAxis,
      series: [{ ...loss, points: withLoss.map((c) => [c.t, c.loss ?? 0] as const) }],
      ...marks,
    }),
    accSamples: lineChart({
      title: 'test accuracy against samples',
      x: samplesAxis,
      y: accAxis,
      series: [{ ...accuracy, points: evaluated.map((c) => [c.samplesSeen, c.accuracy ?? 0] as const) }],
    }),
    lossSamples: lineChart({
      title: 'test loss against samples',
      x: samplesAxis,
      y: lossAxis,
      series: [{ ...loss, points: withLoss.map((c) => [c.samplesSeen, c.loss ?? 0] as const) }],
    }),
    consensus: lineChart({
      title: 'consensus distance over time',
      x: time,
      y: {
        label: 'consensus distance',
        min: 0,
        max: maxDistance,
        format: (v) => `${Math.round(v * 1000) / 10}%`,
      },
      series: [
        {
          name: 'consensus distance (relative)',
          color: '#6a1b9a',
          points: consensus.map((p) => [p.t, p.consensusDistance ?? 0] as const),
        },
      ],
      ...marks,
    }),
    progress: lineChart({
      title: 'job progress and volunteers alive over time',
      x: time,
      y: { label: 'volunteers alive · progress', min: 0, max: maxAlive, format: String },
      series: [
        {
          name: 'browsers alive',
          color: '#ef6c00',
          points: record.samples.map((p) => [p.t, p.alive.browsers] as const),
        },
        {
          name: 'virtual alive',
          color: '#00838f',
          points: record.samples.map((p) => [p.t, p.alive.virtual] as const),
        },
        {
          name: `job progress (0–${maxAlive} = 0–100 %)`,
          color: '#455a64',
          points: record.samples.map((p) => [p.t, p.progress * maxAlive] as const),
        },
      ],
      ...marks,
    }),
  };

  const summary = summaryRows(record)
    .map(([k, v]) => `<tr><th>${text(k)}</th><td>${text(v)}</td></tr>`)
    .join('');
  const faultRows = record.faults
    .map(
      (f) =>
        `<tr class="${f.ok ? '' : 'failed'}"><td>${clock(f.t)}</td><td>${pct(f.progress)}</td><td>${text(f.kind)}</td><td>${text(f.targets.join(', '))}</td><td>${text(f.detail)}</td><td>${f.ok ? 'ok' : 'failed'}</td></tr>`,
    )
    .join('');
  const events = record.events.slice(-300);
  const eventRows = events
    .map(
      (e) =>
        `<tr><td>${clock(e.t)}</td><td>${text(e.kind)}</td><td>${text(e.nodeId ?? '')}</td><td>${text(e.message)}</td></tr>`,
    )
    .join('');
  const browsers = record.nodes.filter((n) => n.kind === 'browser').length;
  const virtual = record.nodes.length - browsers;
  const title = `tabswarm simulation · ${record.job.name}`;

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${text(title)}</title>
<style>${CSS}</style></head>
<body>
<header><h1>${text(title)}</h1>
<p><span class="outcome ${s.outcome}">${text(s.outcome)}</span> started ${text(record.startedAt)} · ${text(record.job.mode)} averaging ·
${browsers} browser${browsers === 1 ? '' : 's'} (${text(record.browserMode)}) + ${virtual} virtual · coordinator ${text(record.coordinator.url)}${record.coordinator.startedHere ? ' (started here)' : ''}</p>
<p class="note">${text(record.machine.cpu)} · ${record.machine.cores} cores · Node ${text(record.machine.node)}${record.machine.chromium ? ` · Chromium ${text(record.machine.chromium)}` : ''} · <code>${text(record.argv.join(' '))}</code></p></header>
<main>
<section><h2>Summary</h2><table class="summary">${summary}</table><p class="note">${text(LATENCY_NOTE)}.</p></section>
<section><h2>Faults</h2><p class="note">Every time chart below shares this time axis; dashed lines mark faults, shading marks offline spells and partitions.</p>${faultTimeline(record, endMs, bands)}</section>
<section><h2>Accuracy and loss</h2>${charts.accTime}${charts.lossTime}${charts.accSamples}${charts.lossSamples}</section>
<section><h2>Consensus</h2>${charts.consensus}</section>
<section><h2>Swarm</h2>${charts.progress}</section>
<section><h2>Volunteers</h2>${views.states}${views.rates}${views.strips ?? `<p class="note">${record.nodes.length} volunteers: shown as aggregates (one strip each up to ${STRIP_LIMIT}).</p>`}</section>
<section><h2>Bytes exchanged per volunteer</h2>${bytesChart(record)}</section>
<section><h2>Fault log</h2><table class="log"><tr><th>time</th><th>progress</th><th>fault</th><th>targets</th><th>detail</th><th></th></tr>${faultRows}</table></section>
<section><h2>Coordinator events</h2><p class="note">${record.events.length > events.length ? `The last ${events.length} of ${record.events.length}; all are in record.json.` : `${events.length} events.`}</p><table class="log"><tr><th>time</th><th>kind</th><th>node</th><th>message</th></tr>${eventRows}</table></section>
<section><h2>Options</h2><pre>${text(JSON.stringify(record.options, null, 2))}</pre></section>
</main></body></html>
`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#eef1f6;padding:16px 24px}header h1{margin:0 0 6px;font-size:20px}
header .note{color:#aeb6c4}main{padding:8px 24px 40px;max-width:940px}
h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid #d5dae2;padding-bottom:4px}
.note{color:#5b6475;font-size:12px;margin:4px 0}code{font-size:12px}
.outcome{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;margin-right:6px}
.outcome.completed{background:#2e7d32;color:#fff}.outcome.failed,.outcome.timeout{background:#c62828;color:#fff}.outcome.interrupted{background:#ef6c00;color:#fff}
svg.chart{display:block;background:#fff;border:1px solid #e0e4ea;margin:8px 0;max-width:100%;height:auto}
.grid{stroke:#eceff3}.frame{fill:none;stroke:#b8c0cc}.tick{font-size:10px;fill:#5b6475}.axis{font-size:11px;fill:#1d2330}
.legend{font-size:11px;fill:#1d2330}.empty{font-size:12px;fill:#5b6475}
table{border-collapse:collapse;background:#fff;font-size:12px}th,td{border:1px solid #e0e4ea;padding:3px 8px;text-align:left;vertical-align:top}
table.summary th{width:240px;background:#f0f2f5}table.log{width:100%}tr.failed td{color:#c62828}
pre{background:#fff;border:1px solid #e0e4ea;padding:8px;font-size:11px;overflow:auto}
`;
