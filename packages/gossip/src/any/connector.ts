/**
 * How a node makes direct links: dial a peer, accept peers that dial it. PeerJS implements it in
 * the browser (peerjs-link.ts); an in-memory network implements it for tests and Node simulations,
 * with nodes that refuse direct links (to exercise the relay) and nodes that die silently.
 */
import type { MessageLink } from './link.ts';
import { createMemoryLinkPair, type MemoryLinkOptions } from './memory-link.ts';

export type DialResult =
  | { readonly ok: true; readonly link: MessageLink }
  | {
      readonly ok: false;
      readonly code: 'PEER_UNAVAILABLE' | 'DIAL_TIMEOUT' | 'DIAL_FAILED';
      readonly message: string;
    };

export interface LinkConnector {
  /** Opens a direct link to `peerId`, or says why not within `timeoutMs`. */
  dial(peerId: string, timeoutMs: number): Promise<DialResult>;
  /** Links other nodes opened to this one. */
  onIncoming(handler: (link: MessageLink) => void): () => void;
  close(): void;
}

export interface MemoryNodeOptions {
  /** A node behind a firewall: every direct dial to or from it fails after `refuseAfterMs`. */
  readonly refuseDirect?: boolean;
}

export interface MemoryNetworkOptions extends Omit<MemoryLinkOptions, 'tamper' | 'severed'> {
  /** How long a refused dial takes to fail (ICE gives up after a while). Default 50 ms. */
  readonly refuseAfterMs?: number;
}

interface MemoryNode {
  readonly id: string;
  readonly refuseDirect: boolean;
  readonly incoming: Set<(link: MessageLink) => void>;
  readonly links: Set<MessageLink>;
  /** Silently dead: messages to and from it vanish, nothing closes. */
  dead: boolean;
}

/** An in-memory network of nodes that can link to each other directly. */
export class MemoryNetwork {
  readonly #nodes = new Map<string, MemoryNode>();
  readonly #options: MemoryNetworkOptions;

  constructor(options: MemoryNetworkOptions = {}) {
    this.#options = options;
  }

  connector(nodeId: string, options: MemoryNodeOptions = {}): LinkConnector {
    const node: MemoryNode = {
      id: nodeId,
      refuseDirect: options.refuseDirect ?? false,
      incoming: new Set(),
      links: new Set(),
      dead: false,
    };
    this.#nodes.set(nodeId, node);
    return {
      dial: (peerId, timeoutMs) => this.#dial(node, peerId, timeoutMs),
      onIncoming(handler) {
        node.incoming.add(handler);
        return () => node.incoming.delete(handler);
      },
      close: () => this.#remove(node),
    };
  }

  /** The node vanishes without a word (a killed tab): its links stay "open" but carry nothing. */
  kill(nodeId: string): void {
    const node = this.#nodes.get(nodeId);
    if (node !== undefined) node.dead = true;
  }

  /** Undoes kill: the node's links carry messages again (a volunteer back from offline). */
  revive(nodeId: string): void {
    const node = this.#nodes.get(nodeId);
    if (node !== undefined) node.dead = false;
  }

  /** Direct links currently open at `nodeId`. */
  linkCount(nodeId: string): number {
    return [...(this.#nodes.get(nodeId)?.links ?? [])].filter((l) => l.open).length;
  }

  async #dial(from: MemoryNode, peerId: string, timeoutMs: number): Promise<DialResult> {
    const to = this.#nodes.get(peerId);
    if (to === undefined) {
      return { ok: false, code: 'PEER_UNAVAILABLE', message: `${peerId} is not on the network` };
    }
    if (from.refuseDirect || to.refuseDirect || to.dead || from.dead) {
      const wait = Math.min(timeoutMs, this.#options.refuseAfterMs ?? 50);
      await new Promise((resolve) => setTimeout(resolve, wait));
      return {
        ok: false,
        code: wait >= timeoutMs ? 'DIAL_TIMEOUT' : 'DIAL_FAILED',
        message: `no direct path between ${from.id} and ${peerId}`,
      };
    }
    const severed = (): boolean => from.dead || to.dead;
    const tamper = (message: Uint8Array): Uint8Array | null => (severed() ? null : message);
    const [atFrom, atTo] = createMemoryLinkPair(from.id, to.id, { ...this.#options, tamper, severed });
    from.links.add(atFrom);
    to.links.add(atTo);
    atFrom.onClose(() => from.links.delete(atFrom));
    atTo.onClose(() => to.links.delete(atTo));
    for (const handler of [...to.incoming]) handler(atTo);
    return { ok: true, link: atFrom };
  }

  #remove(node: MemoryNode): void {
    if (this.#nodes.get(node.id) === node) this.#nodes.delete(node.id);
    for (const link of [...node.links]) link.close();
  }
}
