/**
 * The latest link report of each volunteer: peers, link kinds (direct / relay / failed), round
 * trips, bytes and rejected frames, for dashboards and /metrics. In memory: a report is a few KB
 * and is replaced every few seconds; a volunteer's entry goes when it does.
 */
import type { LinkReport, NodeLinks } from '@tabswarm/protocol';
import type { GossipMetrics } from './metrics.ts';

type Listener = (links: NodeLinks) => void;

export class LinkRegistry {
  readonly #byNode = new Map<string, NodeLinks>();
  readonly #listeners = new Set<Listener>();

  constructor(
    private readonly metrics?: GossipMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  record(nodeId: string, report: LinkReport): NodeLinks {
    const links: NodeLinks = {
      nodeId,
      reportedAt: this.now(),
      links: report.links,
      quarantined: report.quarantined,
    };
    this.#countNewRejections(this.#byNode.get(nodeId), links);
    this.#byNode.set(nodeId, links);
    this.#updateGauges();
    for (const listener of this.#listeners) listener(links);
    return links;
  }

  get(nodeId: string): NodeLinks | null {
    return this.#byNode.get(nodeId) ?? null;
  }

  list(): NodeLinks[] {
    return [...this.#byNode.values()];
  }

  forget(nodeId: string): void {
    if (this.#byNode.delete(nodeId)) this.#updateGauges();
  }

  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * A link report counts rejections since its link opened: only the growth over the volunteer's
   * previous report is new (a count that went down is a new link, counted whole).
   */
  #countNewRejections(before: NodeLinks | undefined, after: NodeLinks): void {
    const counter = this.metrics?.rejectedFramesTotal;
    if (counter === undefined) return;
    for (const link of after.links) {
      const old = before?.links.find((l) => l.peer === link.peer)?.rejected ?? {};
      for (const [reason, count] of Object.entries(link.rejected)) {
        const previous = old[reason] ?? 0;
        const added = count >= previous ? count - previous : count;
        if (added > 0) counter.inc({ reason }, added);
      }
    }
  }

  #updateGauges(): void {
    const metrics = this.metrics;
    if (metrics === undefined) return;
    const kinds = { direct: 0, relay: 0, failed: 0 };
    const rejected = new Map<string, number>();
    for (const node of this.#byNode.values()) {
      for (const link of node.links) {
        if (link.open || link.kind === 'failed') kinds[link.kind]++;
        for (const [reason, count] of Object.entries(link.rejected)) {
          rejected.set(reason, (rejected.get(reason) ?? 0) + count);
        }
      }
    }
    for (const [kind, count] of Object.entries(kinds)) metrics.links.set({ kind }, count);
    metrics.rejectedFrames.reset();
    for (const [reason, count] of rejected) metrics.rejectedFrames.set({ reason }, count);
  }
}
