/**
 * The latest link report of each volunteer: peers, link kinds (direct / relay / failed), round
 * trips, bytes and rejected frames, for dashboards and /metrics. In memory: a report is a few KB
 * and is replaced every few seconds; a volunteer's entry goes when it does. Each entry also
 * carries the bytes the volunteer's averaging moved (countAveraging), which the coordinator counts
 * from exchange reports and FedAvg uploads, not from the link report.
 */
import type { LinkReport, NodeLinks } from '@tabswarm/protocol';
import type { GossipMetrics } from './metrics.ts';

type Listener = (links: NodeLinks) => void;

export class LinkRegistry {
  readonly #byNode = new Map<string, NodeLinks>();
  readonly #listeners = new Set<Listener>();
  /** Open links by kind (failed ones counted whatever their state) and rejected frames by reason, over the latest reports. */
  readonly #kinds = { direct: 0, relay: 0, failed: 0 };
  readonly #rejected = new Map<string, number>();
  readonly #averaging = new Map<string, { bytesOut: number; bytesIn: number }>();

  constructor(
    private readonly metrics?: GossipMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  record(nodeId: string, report: LinkReport): NodeLinks {
    const averaging = this.#averaging.get(nodeId);
    const links: NodeLinks = {
      nodeId,
      reportedAt: this.now(),
      links: report.links,
      quarantined: report.quarantined,
      ...(averaging !== undefined && { averaging: { ...averaging } }),
    };
    const before = this.#byNode.get(nodeId);
    this.#countNewRejections(before, links);
    this.#byNode.set(nodeId, links);
    if (before !== undefined) this.#tally(before, -1);
    this.#tally(links, 1);
    this.#updateGauges();
    for (const listener of this.#listeners) listener(links);
    return links;
  }

  /** Adds the bytes one averaging step of the volunteer sent and received (shown with its next report). */
  countAveraging(nodeId: string, bytesOut: number, bytesIn: number): void {
    const totals = this.#averaging.get(nodeId) ?? { bytesOut: 0, bytesIn: 0 };
    totals.bytesOut += bytesOut;
    totals.bytesIn += bytesIn;
    this.#averaging.set(nodeId, totals);
    const latest = this.#byNode.get(nodeId);
    if (latest !== undefined) this.#byNode.set(nodeId, { ...latest, averaging: { ...totals } });
  }

  get(nodeId: string): NodeLinks | null {
    return this.#byNode.get(nodeId) ?? null;
  }

  list(): NodeLinks[] {
    return [...this.#byNode.values()];
  }

  forget(nodeId: string): void {
    this.#averaging.delete(nodeId);
    const before = this.#byNode.get(nodeId);
    if (before === undefined) return;
    this.#byNode.delete(nodeId);
    this.#tally(before, -1);
    this.#updateGauges();
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

  /**
   * Adds (sign 1) or takes away (-1) one report's links from the running totals, so a report
   * costs its own size, not the whole swarm's (a thousand volunteers report every few seconds).
   */
  #tally(node: NodeLinks, sign: 1 | -1): void {
    for (const link of node.links) {
      if (link.open || link.kind === 'failed') this.#kinds[link.kind] += sign;
      for (const [reason, count] of Object.entries(link.rejected)) {
        const total = (this.#rejected.get(reason) ?? 0) + sign * count;
        if (total === 0) this.#rejected.delete(reason);
        else this.#rejected.set(reason, total);
      }
    }
  }

  #updateGauges(): void {
    const metrics = this.metrics;
    if (metrics === undefined) return;
    for (const [kind, count] of Object.entries(this.#kinds)) metrics.links.set({ kind }, count);
    metrics.rejectedFrames.reset();
    for (const [reason, count] of this.#rejected) metrics.rejectedFrames.set({ reason }, count);
  }
}
