/**
 * The page's end of the link bridge (bridge-protocol.ts): it owns the direct links (a
 * LinkConnector: PeerJS in the browser) and the coordinator port of one identity, and serves them
 * to the mesh in the worker — dials, sends, drains and closes on the worker's word; incoming
 * links, messages, closes, membership and relayed messages forwarded to it. It never looks inside
 * a message. A new worker (after a crash) is attached with `attach`: the links of the old one are
 * closed (their exchanges died with it) and the new one gets a hello.
 */
import type {
  BridgeEndpoint,
  BridgedLinkInfo,
  DialReply,
  HostMessage,
  WorkerMessage,
} from './bridge-protocol.ts';
import type { LinkConnector } from './connector.ts';
import type { CoordinatorPort } from './coordinator-port.ts';
import type { MessageLink } from './link.ts';

interface HostedLink {
  readonly link: MessageLink;
  /** Bytes of every send the worker made on it. */
  sent: number;
  readonly unsubscribe: () => void;
}

export interface LinkHostOptions {
  readonly coordinator: CoordinatorPort;
  /** Direct links; null: the relay only. */
  readonly connector: LinkConnector | null;
  /**
   * Transfer each direct link's second data channel to the worker, where the channel allows it
   * (`MessageLink.openTransferableChannel`), so that frames go around the page.
   */
  readonly directChannels?: boolean;
}

export class LinkHost {
  readonly nodeId: string;
  readonly #coordinator: CoordinatorPort;
  readonly #connector: LinkConnector | null;
  readonly #directChannels: boolean;
  readonly #links = new Map<number, HostedLink>();
  readonly #unsubscribe: (() => void)[] = [];
  #endpoint: BridgeEndpoint | null = null;
  #nextLink = 1;
  #closed = false;
  readonly #onMessage = (event: MessageEvent): void => this.#handle(event.data as WorkerMessage);

  constructor(options: LinkHostOptions) {
    this.#coordinator = options.coordinator;
    this.#connector = options.connector;
    this.#directChannels = options.directChannels === true;
    this.nodeId = options.coordinator.nodeId;
    this.#unsubscribe.push(
      options.coordinator.onMembers((members) =>
        this.#post({ t: 'members', members: [...members], sample: members.sample === true }),
      ),
    );
    const relay = options.coordinator.relay;
    if (relay !== null) {
      this.#unsubscribe.push(
        relay.onMessage((from, data) => this.#post({ t: 'relayed', from, data }, transferable(data))),
      );
    }
    if (this.#connector !== null) {
      this.#unsubscribe.push(
        this.#connector.onIncoming((link) => {
          if (this.#closed || this.#endpoint === null) {
            link.close();
            return;
          }
          this.#announce(link, (info) => ({ t: 'incoming', ...info }));
        }),
      );
    }
  }

  /** Serves the worker at `endpoint` from now on (a new worker: the old one's links are closed). */
  attach(endpoint: BridgeEndpoint): void {
    if (this.#closed) return;
    this.#endpoint?.removeEventListener('message', this.#onMessage);
    this.#closeLinks();
    this.#endpoint = endpoint;
    endpoint.addEventListener('message', this.#onMessage);
    endpoint.start?.();
    this.#hello();
  }

  /** Stops serving: the worker drops its mesh, every link closes. */
  close(): void {
    if (this.#closed) return;
    this.#post({ t: 'reset' });
    this.#closed = true;
    for (const undo of this.#unsubscribe.splice(0)) undo();
    this.#closeLinks();
    this.#endpoint?.removeEventListener('message', this.#onMessage);
    this.#endpoint = null;
  }

  /** Links open now (tests). */
  get linkCount(): number {
    return this.#links.size;
  }

  #hello(): void {
    const members = this.#coordinator.members();
    this.#post({
      t: 'hello',
      nodeId: this.nodeId,
      members: [...members],
      sample: members.sample === true,
      relay: this.#coordinator.relay !== null,
    });
  }

  #handle(message: WorkerMessage): void {
    if (this.#closed) return;
    switch (message.t) {
      case 'ready':
        this.#closeLinks();
        this.#hello();
        break;
      case 'dial':
        void this.#dial(message.id, message.peerId, message.timeoutMs);
        break;
      case 'send': {
        const hosted = this.#links.get(message.link);
        if (hosted === undefined) return;
        hosted.sent += message.data.byteLength;
        try {
          hosted.link.send(new Uint8Array(message.data));
        } catch {
          hosted.link.close();
          return;
        }
        this.#post({
          t: 'buffered',
          link: message.link,
          bytes: hosted.link.bufferedAmount,
          sent: hosted.sent,
        });
        break;
      }
      case 'drain':
        void this.#drain(message.id, message.link, message.lowWaterBytes, message.timeoutMs);
        break;
      case 'close':
        this.#links.get(message.link)?.link.close();
        break;
      case 'relay':
        void this.#relay(message.id, message.to, message.data);
        break;
      case 'reportLinks':
        this.#coordinator.reportLinks(message.report);
        break;
      case 'reportExchange':
        this.#coordinator.reportExchange(message.report);
        break;
    }
  }

  async #dial(id: number, peerId: string, timeoutMs: number): Promise<void> {
    let reply: DialReply;
    if (this.#connector === null) {
      reply = { ok: false, code: 'DIAL_FAILED', message: 'this node makes no direct links' };
    } else {
      const result = await this.#connector.dial(peerId, timeoutMs);
      if (!result.ok) reply = result;
      else if (this.#closed) {
        result.link.close();
        return;
      } else {
        this.#announce(result.link, (info) => ({ t: 'dialed', id, reply: { ok: true, ...info } }));
        return;
      }
    }
    this.#post({ t: 'dialed', id, reply });
  }

  async #drain(id: number, link: number, lowWaterBytes: number, timeoutMs: number): Promise<void> {
    const hosted = this.#links.get(link);
    const drained = hosted === undefined ? false : await hosted.link.waitForDrain(lowWaterBytes, timeoutMs);
    if (hosted !== undefined && hosted.link.open)
      this.#post({ t: 'buffered', link, bytes: hosted.link.bufferedAmount, sent: hosted.sent });
    this.#post({ t: 'drained', id, drained });
  }

  async #relay(id: number, to: string, data: ArrayBuffer): Promise<void> {
    const relay = this.#coordinator.relay;
    const result =
      relay === null
        ? { ok: false as const, code: 'NO_RELAY', message: 'the coordinator offers no relay' }
        : await relay.send(to, new Uint8Array(data));
    this.#post({ t: 'relaySent', id, result });
  }

  /**
   * Adopts `link` and posts `message` about it, with its direct channel transferred when this host
   * hands them over — in this same task, as a transfer must be — or without one where the browser
   * cannot transfer a data channel (the link then sends through the page).
   */
  #announce(link: MessageLink, message: (info: BridgedLinkInfo) => HostMessage): void {
    const info = this.#adopt(link);
    const channel = this.#directChannels ? (link.openTransferableChannel?.() ?? null) : null;
    if (channel !== null) {
      try {
        this.#post(message({ ...info, channel }), [channel]);
        return;
      } catch {
        (channel as { close?: () => void }).close?.(); // not transferable here (DataCloneError)
      }
    }
    this.#post(message(info));
  }

  /** Takes `link` into the table and forwards what it carries. */
  #adopt(link: MessageLink): BridgedLinkInfo {
    const id = this.#nextLink++;
    const offMessage = link.onMessage((data) =>
      this.#post({ t: 'data', link: id, data }, transferable(data)),
    );
    const offClose = link.onClose(() => {
      if (this.#links.delete(id)) this.#post({ t: 'closed', link: id });
      offMessage();
      offClose();
    });
    this.#links.set(id, { link, sent: 0, unsubscribe: () => (offMessage(), offClose()) });
    return {
      link: id,
      peerId: link.peerId,
      kind: link.kind ?? 'direct',
      maxMessageBytes: link.maxMessageBytes,
    };
  }

  #closeLinks(): void {
    const links = [...this.#links.values()];
    this.#links.clear();
    for (const hosted of links) {
      hosted.unsubscribe();
      hosted.link.close();
    }
  }

  #post(message: HostMessage, transfer: Transferable[] = []): void {
    if (this.#closed || this.#endpoint === null) return;
    this.#endpoint.postMessage(message, transfer);
  }
}

/** A received message's buffer, handed over instead of copied when the message owns it whole. */
function transferable(data: unknown): Transferable[] {
  if (data instanceof ArrayBuffer) return [data];
  if (
    data instanceof Uint8Array &&
    data.buffer instanceof ArrayBuffer &&
    data.byteOffset === 0 &&
    data.byteLength === data.buffer.byteLength
  )
    return [data.buffer];
  return [];
}
