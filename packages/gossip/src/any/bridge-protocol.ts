/**
 * The link bridge: the page keeps what only it can hold — the PeerJS data channels and the
 * coordinator's socket.io connection (membership, relay, reports) — and the trainer's Web Worker
 * runs the gossip mesh and the averaging maths over proxies of them (link-host.ts on the page,
 * bridged-ports.ts in the worker). Only chunk-wire messages cross, as transferred ArrayBuffers: the
 * page moves encoded frames and never decodes, checks or averages a parameter vector — and with a
 * direct channel transferred to the worker (direct-channel.ts) it does not even move them.
 *
 * These are the messages over the bridge's MessagePort. Both ends are this application's own code
 * in one tab; what arrives from peers is still checked where it always was (the mesh, in the worker).
 */
import type { ExchangeReport, LinkReport } from '@tabswarm/protocol';
import type { DialResult } from './connector.ts';
import type { RelaySendResult } from './coordinator-port.ts';

/** A MessagePort, a Worker or a worker's global scope: what either end needs. */
export interface BridgeEndpoint {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  /** A MessagePort delivers nothing to event listeners before this (Workers have none). */
  start?(): void;
}

export interface BridgedLinkInfo {
  readonly link: number;
  readonly peerId: string;
  readonly kind: 'direct' | 'relay';
  readonly maxMessageBytes?: number | undefined;
  /**
   * A data channel to the same peer, transferred with this message, that the worker sends and
   * receives on itself once both sides have said HELLO on it (direct-channel.ts).
   */
  readonly channel?: unknown;
}

export type DialReply = ({ readonly ok: true } & BridgedLinkInfo) | Extract<DialResult, { ok: false }>;

/** Page → worker. */
export type HostMessage =
  /** The node this page joined as and the membership it sees: (re)build the mesh. */
  | {
      readonly t: 'hello';
      readonly nodeId: string;
      readonly members: readonly string[];
      readonly sample: boolean;
      readonly relay: boolean;
    }
  | { readonly t: 'members'; readonly members: readonly string[]; readonly sample: boolean }
  /** A peer opened a direct link to this node. */
  | ({ readonly t: 'incoming' } & BridgedLinkInfo)
  | { readonly t: 'data'; readonly link: number; readonly data: unknown }
  | { readonly t: 'closed'; readonly link: number }
  /** The channel's queue after the sends counted so far (`sent`: bytes of every send received). */
  | { readonly t: 'buffered'; readonly link: number; readonly bytes: number; readonly sent: number }
  | { readonly t: 'relayed'; readonly from: string; readonly data: Uint8Array }
  | { readonly t: 'dialed'; readonly id: number; readonly reply: DialReply }
  | { readonly t: 'drained'; readonly id: number; readonly drained: boolean }
  | { readonly t: 'relaySent'; readonly id: number; readonly result: RelaySendResult }
  /** The identity is gone (stopped, or the coordinator forgot it): drop the mesh. */
  | { readonly t: 'reset' };

/** Worker → page. */
export type WorkerMessage =
  /** The worker's end is listening (sent again by a new worker): the page answers with hello. */
  | { readonly t: 'ready' }
  | { readonly t: 'dial'; readonly id: number; readonly peerId: string; readonly timeoutMs: number }
  | { readonly t: 'send'; readonly link: number; readonly data: ArrayBuffer }
  | {
      readonly t: 'drain';
      readonly id: number;
      readonly link: number;
      readonly lowWaterBytes: number;
      readonly timeoutMs: number;
    }
  | { readonly t: 'close'; readonly link: number }
  | { readonly t: 'relay'; readonly id: number; readonly to: string; readonly data: ArrayBuffer }
  | { readonly t: 'reportLinks'; readonly report: LinkReport }
  | { readonly t: 'reportExchange'; readonly report: ExchangeReport };

/** `bytes` as an ArrayBuffer of exactly its length, to transfer: no copy when it already is one. */
export function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  const { buffer } = bytes;
  if (buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength)
    return buffer;
  return bytes.slice().buffer;
}
