/**
 * The averaging channel between the volunteer page and the trainer's Web Worker: the page asks the
 * worker to average after a shard (the worker holds the parameters, the mesh and the kernels), and
 * passes on the few controls only the page knows of (the session token, partitions in tests); the
 * worker answers and tells the page what it received, for the page's debug table.
 */
import type { AveragingSpec } from '@tabswarm/protocol';

/** Who this node is, for FedAvg uploads (the session token renews; the page sends the latest). */
export interface AveragingIdentity {
  readonly baseUrl: string;
  readonly nodeId: string;
  readonly sessionToken: string;
}

export interface ReceivedFrameNote {
  readonly from: string;
  readonly elementCount: number;
  readonly checksum: number;
  readonly ok: boolean;
  readonly error?: string;
}

export interface TestFrameResult {
  readonly ok: boolean;
  readonly bytes: number;
  readonly checksum: number;
  readonly error?: string;
}

/** Which kernels the worker's averaging used, and how many calls each made (tests, debug). */
export interface AveragingKernelStats {
  /** 'wgsl' on TensorFlow.js's WebGPU backend, 'reference' (TypeScript) on the fallbacks. */
  readonly implementation: 'wgsl' | 'reference' | null;
  /** Calls of each averaging kernel (GossipKernels), whichever implementation ran them. */
  readonly calls: Readonly<Record<string, number>>;
  /** GPU dispatches of each WGSL kernel (shader name) on the worker's device: empty on the references. */
  readonly dispatches: Readonly<Record<string, number>>;
  readonly exchanges: number;
  /** A test exchange's answering side is waiting for its partner's request (tests start the initiator then). */
  readonly testAnswering: boolean;
  /**
   * Direct links offered a channel of the worker's own, by how they came to send: on it, or
   * through the page (the other side never said HELLO on it).
   */
  readonly links: { readonly direct: number; readonly page: number };
}

/** The outcome of a test exchange of `elements` random values (see AveragingPageMessage). */
export interface TestExchangeResult {
  readonly ok: boolean;
  readonly error?: string;
  /** Values at the sampled indices after the exchange. */
  readonly sampled: number[];
  readonly durationMs: number;
}

/** Page → worker. */
export type AveragingPageMessage =
  | {
      readonly t: 'afterShard';
      readonly id: number;
      readonly jobId: string;
      readonly lease: { readonly jobId: string; readonly start: number; readonly end: number };
      readonly spec: AveragingSpec;
      readonly identity: AveragingIdentity;
    }
  /** The shard's lease was lost or the job stopped: do not write the average back. */
  | { readonly t: 'abort'; readonly id: number }
  | { readonly t: 'testFrame'; readonly id: number; readonly peerId: string; readonly elements: number }
  /**
   * A test exchange: each side averages `elements` values drawn from `seed` (the same generator as
   * the tests' randomVector) with `peerId`, one side initiating; the sampled values come back.
   */
  | {
      readonly t: 'testExchange';
      readonly id: number;
      readonly peerId: string | null;
      readonly elements: number;
      readonly seed: number;
      readonly sample: readonly number[];
      readonly timeoutMs: number;
    }
  | { readonly t: 'block'; readonly nodeIds: readonly string[] }
  | { readonly t: 'unblock' }
  | { readonly t: 'stats'; readonly id: number };

/** Worker → page. */
export type AveragingWorkerMessage =
  | { readonly t: 'done'; readonly id: number; readonly error: { code: string; message: string } | null }
  | { readonly t: 'testFrameSent'; readonly id: number; readonly result: TestFrameResult }
  | { readonly t: 'testExchanged'; readonly id: number; readonly result: TestExchangeResult }
  | { readonly t: 'stats'; readonly id: number; readonly stats: AveragingKernelStats }
  | { readonly t: 'frame'; readonly note: ReceivedFrameNote };
