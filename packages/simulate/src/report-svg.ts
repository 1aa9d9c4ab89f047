/**
 * Inline SVG charts for the report page, rendered as strings at report time: line charts on a
 * shared plot geometry (so every time chart and the fault timeline line up), axes with round ticks.
 * No scripts, no external references: the page opens from disk.
 */

/** Every chart has this geometry, so time axes line up down the page. */
export const PLOT = { width: 900, left: 112, right: 16, top: 26, bottom: 34 } as const;
const innerWidth = PLOT.width - PLOT.left - PLOT.right;

export interface Axis {
  readonly label: string;
  readonly min: number;
  readonly max: number;
  readonly format: (v: number) => string;
}

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
  /** Draw the points as dots too (sparse series such as checkpoints). */
  readonly dots?: boolean;
}

/** A vertical marker (a fault) on a time chart. */
export interface Marker {
  readonly x: number;
  readonly color: string;
  readonly label: string;
}

/** A shaded stretch of the x axis (a partition, an offline spell). */
export interface Band {
  readonly x0: number;
  readonly x1: number;
  readonly color: string;
  readonly label: string;
}

/**
 * Text for the page, escaped; `://` is written with an entity so that the file holds no literal
 * URL (the page must not look like it loads anything), while a reader still sees the address.
 */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`).replace(/:\/\//g, '&#58;//');
}

const num = (v: number): string => (Math.round(v * 10) / 10).toString();

/** Round tick values over [min, max]: steps of 1, 2 or 5 × 10^k, about `count` of them. */
export function ticks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

export class Frame {
  readonly height: number;
  readonly innerHeight: number;
  constructor(
    readonly x: Axis,
    readonly y: Axis,
    height: number,
  ) {
    this.height = height;
    this.innerHeight = height - PLOT.top - PLOT.bottom;
  }
  sx(v: number): number {
    const span = this.x.max - this.x.min || 1;
    return PLOT.left + ((v - this.x.min) / span) * innerWidth;
  }
  sy(v: number): number {
    const span = this.y.max - this.y.min || 1;
    const clamped = Math.min(this.y.max, Math.max(this.y.min, v));
    return PLOT.top + this.innerHeight - ((clamped - this.y.min) / span) * this.innerHeight;
  }
}

export function svgOpen(height: number, title: string): string {
  return `<svg class="chart" viewBox="0 0 ${PLOT.width} ${height}" width="${PLOT.width}" height="${height}" role="img" aria-label="${escapeXml(title)}">`;
}

/** Grid, ticks and axis labels. */
export function axes(f: Frame, yTicks = true): string {
  const parts: string[] = [];
  const bottom = PLOT.top + f.innerHeight;
  for (const v of ticks(f.x.min, f.x.max, 8)) {
    const x = num(f.sx(v));
    parts.push(`<line class="grid" x1="${x}" x2="${x}" y1="${PLOT.top}" y2="${bottom}"/>`);
    parts.push(
      `<text class="tick" x="${x}" y="${bottom + 14}" text-anchor="middle">${escapeXml(f.x.format(v))}</text>`,
    );
  }
  if (yTicks) {
    for (const v of ticks(f.y.min, f.y.max, 4)) {
      const y = num(f.sy(v));
      parts.push(
        `<line class="grid" x1="${PLOT.left}" x2="${PLOT.width - PLOT.right}" y1="${y}" y2="${y}"/>`,
      );
      parts.push(
        `<text class="tick" x="${PLOT.left - 6}" y="${y}" dy="0.32em" text-anchor="end">${escapeXml(f.y.format(v))}</text>`,
      );
    }
  }
  parts.push(
    `<rect class="frame" x="${PLOT.left}" y="${PLOT.top}" width="${innerWidth}" height="${f.innerHeight}"/>`,
  );
  parts.push(
    `<text class="axis" x="${PLOT.left + innerWidth / 2}" y="${f.height - 4}" text-anchor="middle">${escapeXml(f.x.label)}</text>`,
  );
  parts.push(
    `<text class="axis" transform="translate(${PLOT.left - 48} ${PLOT.top + f.innerHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(f.y.label)}</text>`,
  );
  return parts.join('');
}

export function path(f: Frame, points: readonly (readonly [number, number])[]): string {
  return points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${num(f.sx(x))} ${num(f.sy(y))}`).join('');
}

export function markersAndBands(f: Frame, markers: readonly Marker[], bands: readonly Band[]): string {
  const bottom = PLOT.top + f.innerHeight;
  return [
    ...bands.map(
      (b) =>
        `<rect x="${num(f.sx(b.x0))}" y="${PLOT.top}" width="${num(Math.max(1, f.sx(b.x1) - f.sx(b.x0)))}" height="${f.innerHeight}" fill="${b.color}" opacity="0.14"><title>${escapeXml(b.label)}</title></rect>`,
    ),
    ...markers.map(
      (m) =>
        `<line x1="${num(f.sx(m.x))}" x2="${num(f.sx(m.x))}" y1="${PLOT.top}" y2="${bottom}" stroke="${m.color}" stroke-dasharray="4 3" stroke-width="1.2"><title>${escapeXml(m.label)}</title></line>`,
    ),
  ].join('');
}

export function legend(series: readonly { name: string; color: string }[]): string {
  let x = PLOT.left;
  return series
    .map((s) => {
      const item = `<rect x="${x}" y="8" width="10" height="10" fill="${s.color}"/><text class="legend" x="${x + 14}" y="17">${escapeXml(s.name)}</text>`;
      x += 24 + s.name.length * 6.5;
      return item;
    })
    .join('');
}

export interface LineChartOptions {
  readonly title: string;
  readonly x: Axis;
  readonly y: Axis;
  readonly series: readonly Series[];
  readonly markers?: readonly Marker[];
  readonly bands?: readonly Band[];
  readonly height?: number;
}

export function lineChart(o: LineChartOptions): string {
  const f = new Frame(o.x, o.y, o.height ?? 220);
  const drawn = o.series.filter((s) => s.points.length > 0);
  if (drawn.length === 0) return emptyChart(o.title, 'no data recorded');
  const lines = drawn.map((s) => {
    // A line needs two points: a short series is drawn as dots too, so it does not vanish.
    const dots =
      s.dots === true || s.points.length < 3
        ? s.points
            .map(([x, y]) => `<circle cx="${num(f.sx(x))}" cy="${num(f.sy(y))}" r="2.6" fill="${s.color}"/>`)
            .join('')
        : '';
    return `<path d="${path(f, s.points)}" fill="none" stroke="${s.color}" stroke-width="1.8"/>${dots}`;
  });
  return [
    svgOpen(f.height, o.title),
    axes(f),
    markersAndBands(f, o.markers ?? [], o.bands ?? []),
    ...lines,
    legend(drawn),
    '</svg>',
  ].join('');
}

export function emptyChart(title: string, why: string): string {
  return `${svgOpen(60, title)}<text class="empty" x="${PLOT.left}" y="34">${escapeXml(why)}</text></svg>`;
}

/** Seconds as m:ss (or h:mm:ss), for time axes. */
export function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** 1234567 → 1.23 M, for counts and bytes. */
export function compact(v: number, unit = ''): string {
  const abs = Math.abs(v);
  const [d, suffix] =
    abs >= 1e9 ? [1e9, ' G'] : abs >= 1e6 ? [1e6, ' M'] : abs >= 1e3 ? [1e3, ' k'] : [1, unit ? ' ' : ''];
  const scaled = v / d;
  const text = Number.isInteger(scaled) ? String(scaled) : scaled.toPrecision(3).replace(/\.?0+$/, '');
  return `${text}${suffix}${unit}`;
}
