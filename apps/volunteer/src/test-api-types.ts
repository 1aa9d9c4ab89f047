/**
 * The typed test API the volunteer page exposes on `window.tabswarmTest`. Kept free of app
 * imports so Playwright specs can `import type` it and get a typed `window.tabswarmTest`.
 */
import type { Backend, ConnectionState, PeerInfo } from '@tabswarm/protocol';

export type { ConnectionState } from '@tabswarm/protocol';

export type SelfTestStatus = 'pending' | 'passed' | 'failed';

export interface TabswarmTestState {
  readonly connection: ConnectionState;
  readonly nodeId: string | null;
  readonly backend: Backend | null;
  readonly selfTest: SelfTestStatus;
  readonly peers: PeerInfo[];
  /** This tab's link to the PeerJS signalling server; frames can be exchanged once it is 'open'. */
  readonly peerServer: PeerServerState;
}

export type PeerServerState = 'off' | 'connecting' | 'open' | 'error';

export interface SendFrameResult {
  /** True once the receiver acknowledged that it decoded the frame and its checksum matched. */
  readonly ok: boolean;
  /** Size of the encoded frame. */
  readonly bytes: number;
  /** The checksum the receiver echoed (0 when it did not acknowledge). */
  readonly checksum: number;
  readonly error?: string;
}

export interface ReceivedFrameRecord {
  /** Node id of the sender. */
  readonly from: string;
  readonly elementCount: number;
  readonly checksum: number;
  readonly ok: boolean;
  readonly error?: string;
}

/** The trainer, as tests see it. */
export interface TrainerTestState {
  /** off, starting, loading, calibrating, idle, training, paused, restarting, stopped, failed. */
  readonly phase: string;
  /** The backend the trainer's worker runs on now (after a fallback, the fallback). */
  readonly backend: Backend | null;
  readonly fallbackReason: string | null;
  readonly jobId: string | null;
  readonly leaseId: string | null;
  readonly shardsDone: number;
  readonly lastLoss: number | null;
  readonly samplesPerSec: number | null;
  readonly stepTimeMs: number | null;
  /** tf.memory().numTensors of the worker. */
  readonly tensors: number;
  readonly restarts: number;
  readonly releasedLeases: number;
  readonly checkpointsUploaded: number;
  readonly dutyCycle: number;
  readonly paused: boolean;
}

export interface TabswarmTestApi {
  getState(): TabswarmTestState;
  /** Sends a random fp32 frame of `elements` values to `peerId` and waits for its acknowledgement. */
  sendFrame(peerId: string, elements: number): Promise<SendFrameResult>;
  receivedFrames(): ReceivedFrameRecord[];
  /** The trainer's state; null before Start. */
  trainer(): TrainerTestState | null;
  /** Destroys TensorFlow.js's GPUDevice in the trainer's worker; false when it does not run on WebGPU. */
  simulateDeviceLoss(): Promise<boolean>;
  /** Makes the trainer's worker die of an uncaught error. */
  simulateWorkerCrash(): Promise<boolean>;
  /**
   * Cuts this tab off from these node ids (a simulated partition): no direct link, relay or frame
   * either way until unblockPeers(). False before the tab has joined (there is no mesh yet).
   */
  blockPeers(nodeIds: string[]): boolean;
  /** Lifts every block; false when there is no mesh. */
  unblockPeers(): boolean;
  /**
   * One gossip exchange in the trainer's worker, with the averaging maths and checks of a job
   * (fp32): this tab holds `elements` values drawn from `seed` (the tests' seeded randomVector) and
   * exchanges them with `peerId` (null: answers the peer that initiates, within `timeoutMs`).
   * Returns the values at the `sample` indices afterwards.
   */
  testExchange(
    peerId: string | null,
    elements: number,
    seed: number,
    sample: number[],
    timeoutMs: number,
  ): Promise<TestExchangeOutcome>;
  /** Which kernels the worker's averaging ran ('wgsl' on WebGPU) and their calls; null before Start. */
  averagingStats(): Promise<AveragingStatsView | null>;
}

export interface TestExchangeOutcome {
  readonly ok: boolean;
  readonly error?: string;
  readonly sampled: number[];
  readonly durationMs: number;
}

export interface AveragingStatsView {
  readonly implementation: 'wgsl' | 'reference' | null;
  readonly calls: Readonly<Record<string, number>>;
  /** GPU dispatches of each WGSL kernel on the worker's device (empty on the references). */
  readonly dispatches: Readonly<Record<string, number>>;
  readonly exchanges: number;
  /** A test exchange's answering side is waiting for its partner's request. */
  readonly testAnswering: boolean;
  readonly links: { readonly direct: number; readonly page: number };
}

declare global {
  interface Window {
    /** Installed by the volunteer page's entry module before it renders, so always present there. */
    tabswarmTest: TabswarmTestApi;
  }
}
