/** Labels the node table shows; pure so they can be unit-tested. */
import type { AdapterInfo, NodeInfo, PrivacySpent } from '@tabswarm/protocol';

/** "3 s ago", "4 min ago", "2 h ago", from a coordinator timestamp and the coordinator's current time. */
export function formatAge(thenMs: number, nowMs: number): string {
  const seconds = Math.max(0, Math.floor((nowMs - thenMs) / 1000));
  if (seconds < 120) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes} min ago`;
  return `${Math.floor(minutes / 60)} h ago`;
}

export function adapterLabel(adapter: AdapterInfo | null): string {
  if (adapter === null) return 'no WebGPU';
  const label =
    [adapter.vendor, adapter.architecture].filter((part) => part !== '').join(' / ') || 'unnamed adapter';
  return adapter.isFallbackAdapter ? `${label} (fallback)` : label;
}

export type SelfTestLabel = 'passed' | 'failed' | 'pending';

export function selfTestLabel(node: NodeInfo): SelfTestLabel {
  if (node.selfTest === null) return 'pending';
  return node.selfTest.passed ? 'passed' : 'failed';
}

/** Active nodes first, then the most recently joined. */
export function sortNodes(nodes: Iterable<NodeInfo>): NodeInfo[] {
  return [...nodes].sort((a, b) => {
    if (a.status !== b.status) return a.status === 'active' ? -1 : 1;
    return b.joinedAt - a.joinedAt || a.id.localeCompare(b.id);
  });
}

/** "—": what a cell shows when there is no value (or no data source yet). */
export const NONE = '—';

/** Thousands separated, at most `digits` decimals; "—" for null or a non-finite value. */
export function formatNumber(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return NONE;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** 0.9123 → "91.2 %". */
export function formatPercent(fraction: number | null | undefined, digits = 1): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return NONE;
  return `${(fraction * 100).toFixed(digits)} %`;
}

/** Loss values span orders of magnitude: four significant digits. */
export function formatLoss(loss: number | null | undefined): string {
  if (loss === null || loss === undefined || !Number.isFinite(loss)) return NONE;
  return loss.toPrecision(4);
}

/** "850 ms", "12 s", "3 min 05 s", "2 h 10 min"; negative durations read as "-12 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return NONE;
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${Math.round(abs)} ms`;
  const s = Math.floor(abs / 1000);
  if (s < 120) return `${sign}${s} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${sign}${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${sign}${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** A coordinator timestamp as local wall-clock time, "14:03:27". */
export function formatClock(ms: number): string {
  return new Date(ms).toLocaleTimeString('en-GB', { hour12: false });
}

/** "2024-05-01 14:03". */
export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return NONE;
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** A job's privacy spent: "ε 2.31 at δ 1e-5 · 3 releases a sample" (ε ∞ when nothing bounds it). */
export function formatPrivacy(spent: PrivacySpent): string {
  const epsilon =
    spent.epsilon === null
      ? '∞'
      : spent.epsilon >= 1000
        ? spent.epsilon.toExponential(2)
        : spent.epsilon.toFixed(2);
  const releases = `${formatNumber(spent.releases)} ${spent.releases === 1 ? 'release' : 'releases'} a sample`;
  return `ε ${epsilon} at δ ${spent.delta.toExponential(0)} · ${releases}`;
}
