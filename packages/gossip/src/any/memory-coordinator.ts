/**
 * An in-memory coordinator for tests and Node simulations: membership, a relay that forwards
 * between ports (with an optional byte rate, paced like the real one), and the reports it got.
 */
import type { ExchangeReport, LinkReport } from '@tabswarm/protocol';
import type { CoordinatorPort, RelayPort, RelaySendResult } from './coordinator-port.ts';

export interface MemoryCoordinatorOptions {
  /** Relay rate per sender in bytes/s (Infinity: unlimited). */
  readonly relayBytesPerSec?: number;
  /** Offer a relay at all (default true). */
  readonly relay?: boolean;
}

interface Member {
  readonly nodeId: string;
  readonly memberHandlers: Set<(members: readonly string[]) => void>;
  readonly relayHandlers: Set<(from: string, data: Uint8Array) => void>;
  nextFreeAt: number;
}

export class MemoryCoordinator {
  readonly linkReports: { nodeId: string; report: LinkReport }[] = [];
  readonly exchangeReports: { nodeId: string; report: ExchangeReport }[] = [];
  relayedBytes = 0;
  readonly #members = new Map<string, Member>();
  readonly #options: MemoryCoordinatorOptions;

  constructor(options: MemoryCoordinatorOptions = {}) {
    this.#options = options;
  }

  members(): string[] {
    return [...this.#members.keys()].sort();
  }

  /** Joins a node and returns its port; everyone hears the new membership. */
  join(nodeId: string): CoordinatorPort {
    const member: Member = { nodeId, memberHandlers: new Set(), relayHandlers: new Set(), nextFreeAt: 0 };
    this.#members.set(nodeId, member);
    const relay: RelayPort = {
      send: (to, data) => this.#relay(member, to, data),
      onMessage(handler) {
        member.relayHandlers.add(handler);
        return () => member.relayHandlers.delete(handler);
      },
    };
    const port: CoordinatorPort = {
      nodeId,
      members: () => this.members(),
      onMembers(handler) {
        member.memberHandlers.add(handler);
        return () => member.memberHandlers.delete(handler);
      },
      relay: this.#options.relay === false ? null : relay,
      reportLinks: (report) => this.linkReports.push({ nodeId, report }),
      reportExchange: (report) => this.exchangeReports.push({ nodeId, report }),
    };
    this.#announce();
    return port;
  }

  /** The node leaves the membership (as the coordinator announces a gone volunteer). */
  leave(nodeId: string): void {
    if (this.#members.delete(nodeId)) this.#announce();
  }

  #announce(): void {
    const members = this.members();
    for (const member of this.#members.values())
      for (const handler of [...member.memberHandlers]) handler(members);
  }

  async #relay(from: Member, to: string, data: Uint8Array): Promise<RelaySendResult> {
    const rate = this.#options.relayBytesPerSec ?? Number.POSITIVE_INFINITY;
    let queuedMs = 0;
    if (Number.isFinite(rate)) {
      const now = Date.now();
      const start = Math.max(now, from.nextFreeAt);
      from.nextFreeAt = start + (data.length / rate) * 1000;
      queuedMs = start - now;
      if (queuedMs > 0) await new Promise((resolve) => setTimeout(resolve, queuedMs));
    } else {
      await Promise.resolve();
    }
    const target = this.#members.get(to);
    if (target === undefined || !this.#members.has(from.nodeId)) {
      return { ok: false, code: 'UNKNOWN_NODE', message: `${to} is not a member` };
    }
    this.relayedBytes += data.length;
    const copy = data.slice();
    for (const handler of [...target.relayHandlers]) handler(from.nodeId, copy);
    return { ok: true, queuedMs };
  }
}
