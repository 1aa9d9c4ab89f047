/**
 * The worker's end of the link bridge (bridge-protocol.ts): a LinkConnector and a CoordinatorPort
 * whose links, membership and relay are the page's (link-host.ts), and the GossipMesh built on them
 * for each identity the page announces. Everything the mesh does — chunking, reassembly, checks,
 * exchanges — runs here; the page only forwards the chunks.
 */
import type { ExchangeReport, LinkReport } from '@tabswarm/protocol';
import {
  ownBuffer,
  type BridgeEndpoint,
  type BridgedLinkInfo,
  type DialReply,
  type HostMessage,
  type WorkerMessage,
} from './bridge-protocol.ts';
import type { DialResult, LinkConnector } from './connector.ts';
import {
  memberView,
  type CoordinatorPort,
  type MemberView,
  type RelayPort,
  type RelaySendResult,
} from './coordinator-port.ts';
import { decodeHello, helloHandshake, waitForChannelDrain, type DataChannelLike } from './direct-channel.ts';
import { LinkBase } from './link-base.ts';
import type { MessageLink } from './link.ts';
import { GossipMesh, type GossipMeshOptions } from './mesh.ts';

/** What a link holds for its first subscriber at most (the first messages of an exchange are small). */
const MAX_HELD_BYTES = 16 * 1024 * 1024;

/**
 * A link whose channel is on the page: what it receives comes from there, and sends go there —
 * unless the page also transferred a direct channel to the same peer and both sides said HELLO on
 * it (direct-channel.ts): then sends go straight on that channel and the page moves nothing.
 */
class BridgedLink extends LinkBase implements MessageLink {
  readonly peerId: string;
  readonly kind: 'direct' | 'relay';
  readonly maxMessageBytes: number | undefined;
  /** Settles once the link knows how it sends (at once without a direct channel). */
  readonly settled: Promise<void>;
  readonly #id: number;
  readonly #ports: BridgedPorts;
  readonly #channel: DataChannelLike | null;
  #stopHandshake: () => void = () => undefined;
  /** The direct channel, once the other side has been heard on it. */
  #direct: DataChannelLike | null = null;
  /** Bytes posted to the page, and of those the page said it handed to the channel. */
  #posted = 0;
  #acknowledged = 0;
  #pageBuffered = 0;
  /**
   * What arrived before anything subscribed: the link is handed to the mesh only once its
   * handshake settles, and the other side may have settled first and already sent. Null once
   * delivered.
   */
  #held: unknown[] | null = [];
  #heldBytes = 0;

  constructor(
    info: BridgedLinkInfo,
    ports: BridgedPorts,
    channel: DataChannelLike | null,
    helloTimeoutMs: number | undefined,
  ) {
    super();
    this.#id = info.link;
    this.peerId = info.peerId;
    this.kind = info.kind;
    this.maxMessageBytes = info.maxMessageBytes;
    this.#ports = ports;
    this.#channel = channel;
    if (channel === null) {
      this.settled = Promise.resolve();
      return;
    }
    channel.binaryType = 'arraybuffer';
    channel.addEventListener('message', (event) => {
      if (decodeHello(event.data) === null) this.received(event.data);
    });
    channel.addEventListener('close', () => this.close());
    const handshake = helloHandshake(channel, helloTimeoutMs);
    this.#stopHandshake = () => handshake.stop();
    this.settled = handshake.done.then((heard) => {
      if (heard && this.open) this.#direct = channel;
      else handshake.stop();
      ports.counted(this.#direct !== null);
    });
  }

  get bufferedAmount(): number {
    return (this.#direct?.bufferedAmount ?? 0) + this.#pageBuffered + (this.#posted - this.#acknowledged);
  }

  send(message: Uint8Array): void {
    if (!this.open) throw new Error('link is closed');
    if (this.#direct !== null) {
      // The other side closed it, and its close event has not reached this worker yet.
      if (this.#direct.readyState !== 'open') {
        this.close();
        throw new Error('link is closed');
      }
      this.#direct.send(message); // the channel copies it
      return;
    }
    // A copy, as a channel makes: the sender may reuse its buffer, and the copy is transferred.
    const data = message.slice().buffer;
    this.#posted += data.byteLength;
    this.#ports.post({ t: 'send', link: this.#id, data }, [data]);
  }

  override async waitForDrain(lowWaterBytes: number, timeoutMs: number): Promise<boolean> {
    if (!this.open) return false;
    if (this.bufferedAmount <= lowWaterBytes) return true;
    const direct = this.#direct;
    if (direct !== null) {
      return waitForChannelDrain(
        direct,
        lowWaterBytes,
        timeoutMs,
        () => this.open && direct.readyState === 'open',
      );
    }
    return this.#ports.request<boolean>(
      (id) => ({ t: 'drain', id, link: this.#id, lowWaterBytes, timeoutMs }),
      false,
    );
  }

  close(): void {
    if (!this.open) return;
    this.#ports.post({ t: 'close', link: this.#id });
    this.closed();
  }

  /** From the page: the channel's queue after `sent` bytes. */
  buffered(bytes: number, sent: number): void {
    this.#pageBuffered = bytes;
    this.#acknowledged = sent;
    this.notifyDrained();
  }

  received(data: unknown): void {
    if (!this.open) return;
    if (this.#held === null) {
      this.deliverOwned(data);
      return;
    }
    // Bounded: a peer flooding a link that is not yet in use is cut off.
    this.#heldBytes +=
      data instanceof ArrayBuffer ? data.byteLength : typeof data === 'string' ? 2 * data.length : 1024;
    if (this.#heldBytes > MAX_HELD_BYTES) this.close();
    else this.#held.push(data);
  }

  /** The first subscriber gets what arrived before it, in order, once it has finished subscribing. */
  override onMessage(handler: (data: unknown) => void): () => void {
    const unsubscribe = super.onMessage(handler);
    if (this.#held !== null)
      queueMicrotask(() => {
        const held = this.#held ?? [];
        this.#held = null;
        this.#heldBytes = 0;
        for (const data of held) this.deliverOwned(data);
      });
    return unsubscribe;
  }

  closed(): void {
    if (!this.open) return;
    this.#ports.forget(this.#id);
    this.#stopHandshake();
    this.markClosed();
    this.#channel?.close();
  }
}

/** A transferred RTCDataChannel (or a test's stand-in), checked for what the link uses of it. */
function asDataChannel(value: unknown): DataChannelLike | null {
  if (typeof value !== 'object' || value === null) return null;
  const c = value as Partial<Record<keyof DataChannelLike, unknown>>;
  return typeof c.send === 'function' &&
    typeof c.close === 'function' &&
    typeof c.addEventListener === 'function' &&
    typeof c.readyState === 'string'
    ? (value as DataChannelLike)
    : null;
}

export interface BridgedPortsOptions {
  /** The mesh's options beyond its connector and coordinator (timeouts, report interval …). */
  readonly mesh?: Omit<GossipMeshOptions, 'coordinator' | 'connector'>;
  /** Called with each mesh built for an identity the page announced, and null when it is gone. */
  readonly onMesh?: (mesh: GossipMesh | null) => void;
  /** How long a direct channel's HELLO exchange may take before the link sends through the page. */
  readonly helloTimeoutMs?: number;
  /** What a transferred channel is taken as (tests); default: an RTCDataChannel. */
  readonly channelOf?: (transferred: unknown) => DataChannelLike | null;
}

/** Direct links by how they came to send: on the worker's own channel, or through the page. */
export interface LinkPaths {
  readonly direct: number;
  readonly page: number;
}

export class BridgedPorts {
  readonly #endpoint: BridgeEndpoint;
  readonly #options: BridgedPortsOptions;
  readonly #links = new Map<number, BridgedLink>();
  /** Replies awaited, with what each resolves to if the page's end goes away first. */
  readonly #requests = new Map<number, { resolve: (value: unknown) => void; fallback: unknown }>();
  readonly #incoming = new Set<(link: MessageLink) => void>();
  readonly #memberHandlers = new Set<(members: MemberView) => void>();
  readonly #relayHandlers = new Set<(from: string, data: Uint8Array) => void>();
  #members: MemberView = memberView([], false);
  #mesh: GossipMesh | null = null;
  #nextRequest = 1;
  #paths = { direct: 0, page: 0 };
  readonly #onMessage = (event: MessageEvent): void => this.#handle(event.data as HostMessage);

  constructor(endpoint: BridgeEndpoint, options: BridgedPortsOptions = {}) {
    this.#endpoint = endpoint;
    this.#options = options;
    endpoint.addEventListener('message', this.#onMessage);
    endpoint.start?.();
    this.post({ t: 'ready' });
  }

  /** The mesh of the identity the page announced last; null before one or after a reset. */
  get mesh(): GossipMesh | null {
    return this.#mesh;
  }

  close(): void {
    this.#endpoint.removeEventListener('message', this.#onMessage);
    this.#dropMesh();
  }

  post(message: WorkerMessage, transfer: Transferable[] = []): void {
    this.#endpoint.postMessage(message, transfer);
  }

  /**
   * Posts the message `make(id)` builds and resolves with the page's reply to that id, or with
   * `fallback` when the identity is reset first (the page's end of it is gone).
   */
  request<T>(make: (id: number) => WorkerMessage, fallback: T, transfer: Transferable[] = []): Promise<T> {
    const id = this.#nextRequest++;
    return new Promise<T>((resolve) => {
      this.#requests.set(id, { resolve: resolve as (value: unknown) => void, fallback });
      this.post(make(id), transfer);
    });
  }

  forget(link: number): void {
    this.#links.delete(link);
  }

  /** Links that were offered a direct channel, by whether its handshake succeeded. */
  get linkPaths(): LinkPaths {
    return { ...this.#paths };
  }

  counted(direct: boolean): void {
    if (direct) this.#paths.direct++;
    else this.#paths.page++;
  }

  #handle(message: HostMessage): void {
    switch (message.t) {
      case 'hello':
        this.#dropMesh();
        this.#members = memberView(message.members, message.sample);
        this.#mesh = new GossipMesh({
          ...this.#options.mesh,
          coordinator: this.#coordinatorPort(message.nodeId, message.relay),
          connector: this.#connector(),
        });
        this.#options.onMesh?.(this.#mesh);
        break;
      case 'members':
        this.#members = memberView(message.members, message.sample);
        for (const handler of [...this.#memberHandlers]) handler(this.#members);
        break;
      case 'incoming': {
        const link = this.#adopt(message);
        // Offered to the mesh once it knows how it sends: a path switch mid-frame could reorder chunks.
        void link.settled.then(() => {
          if (!link.open) return;
          for (const handler of [...this.#incoming]) handler(link);
        });
        break;
      }
      case 'data':
        this.#links.get(message.link)?.received(message.data);
        break;
      case 'closed':
        this.#links.get(message.link)?.closed();
        break;
      case 'buffered':
        this.#links.get(message.link)?.buffered(message.bytes, message.sent);
        break;
      case 'relayed':
        for (const handler of [...this.#relayHandlers]) handler(message.from, message.data);
        break;
      case 'dialed':
        this.#settle(message.id, message.reply);
        break;
      case 'drained':
        this.#settle(message.id, message.drained);
        break;
      case 'relaySent':
        this.#settle(message.id, message.result);
        break;
      case 'reset':
        this.#dropMesh();
        break;
    }
  }

  #settle(id: number, value: unknown): void {
    const pending = this.#requests.get(id);
    this.#requests.delete(id);
    pending?.resolve(value);
  }

  #adopt(info: BridgedLinkInfo): BridgedLink {
    const channel =
      info.channel === undefined ? null : (this.#options.channelOf ?? asDataChannel)(info.channel);
    const link = new BridgedLink(info, this, channel, this.#options.helloTimeoutMs);
    this.#links.set(info.link, link);
    return link;
  }

  #dropMesh(): void {
    const mesh = this.#mesh;
    this.#mesh = null;
    for (const link of [...this.#links.values()]) link.closed();
    const pending = [...this.#requests.values()];
    this.#requests.clear();
    for (const request of pending) request.resolve(request.fallback);
    this.#memberHandlers.clear();
    this.#relayHandlers.clear();
    this.#incoming.clear();
    if (mesh !== null) {
      mesh.close();
      this.#options.onMesh?.(null);
    }
  }

  #connector(): LinkConnector {
    return {
      dial: async (peerId, timeoutMs): Promise<DialResult> => {
        const reply = await this.request<DialReply>((id) => ({ t: 'dial', id, peerId, timeoutMs }), {
          ok: false,
          code: 'DIAL_FAILED',
          message: 'the page dropped this identity',
        });
        if (!reply.ok) return reply;
        const link = this.#adopt(reply);
        await link.settled;
        return link.open
          ? { ok: true, link }
          : { ok: false, code: 'DIAL_FAILED', message: `the link to ${peerId} closed while opening` };
      },
      onIncoming: (handler) => {
        this.#incoming.add(handler);
        return () => this.#incoming.delete(handler);
      },
      close: () => undefined,
    };
  }

  #coordinatorPort(nodeId: string, offersRelay: boolean): CoordinatorPort {
    const relay: RelayPort = {
      send: (to, data) => {
        const copy = ownBuffer(data.slice());
        return this.request<RelaySendResult>(
          (id) => ({ t: 'relay', id, to, data: copy }),
          { ok: false, code: 'RESET', message: 'the page dropped this identity' },
          [copy],
        );
      },
      onMessage: (handler) => {
        this.#relayHandlers.add(handler);
        return () => this.#relayHandlers.delete(handler);
      },
    };
    return {
      nodeId,
      members: () => this.#members,
      onMembers: (handler) => {
        this.#memberHandlers.add(handler);
        return () => this.#memberHandlers.delete(handler);
      },
      relay: offersRelay ? relay : null,
      reportLinks: (report: LinkReport) => this.post({ t: 'reportLinks', report }),
      reportExchange: (report: ExchangeReport) => this.post({ t: 'reportExchange', report }),
    };
  }
}
