/** Labels the node table shows; pure so they can be unit-tested. */
import type { AdapterInfo, NodeInfo } from '@tabswarm/protocol';

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
