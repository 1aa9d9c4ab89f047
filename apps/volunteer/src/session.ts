/**
 * The volunteer page's side of a volunteering session, from Start to Stop: the shared volunteer
 * wiring (VolunteerRuntime: trainer in a Web Worker, coordinator connection, heartbeats, self-test,
 * averaging) plus what only the page has — the store it writes into, the tab's visibility, and the
 * PeerJS mesh the gossip averaging runs over.
 */
import {
  VolunteerRuntime,
  errorText,
  probeWebGpu,
  type CoordinatorConnection,
  type TrainerEvent,
  type VolunteerTrainer,
} from '@tabswarm/trainer';
import { AveragingClient, type AveragingKernelStats, type TestExchangeResult } from '@tabswarm/gossip';
import type { JoinAccepted } from '@tabswarm/protocol';
import { createWorkerCompute } from './backend-pin.ts';
import { PeerMesh } from './peer-mesh.ts';
import { INITIAL_STATE, type TrainerLogLine, type VolunteerStore } from './store.ts';
import type { SendFrameResult } from './test-api-types.ts';

/** Received-frame records kept for the page and the test API. */
const MAX_RECEIVED_RECORDS = 200;
const MAX_LOG_LINES = 50;

/** A line for the page's log, for the events worth telling a person about. */
function logLine(event: TrainerEvent): TrainerLogLine | null {
  const at = Date.now();
  switch (event.type) {
    case 'backend':
      return {
        at,
        level: event.backend.fallbackReason === null ? 'info' : 'warn',
        text: `trainer started on ${event.backend.backend}${event.backend.fallbackReason === null ? '' : ` (fell back: ${event.backend.fallbackReason})`}`,
      };
    case 'job':
      return {
        at,
        level: 'info',
        text: `loaded job ${event.job.name} (${event.job.id}) from ${event.source === 'snapshot' ? 'the last local parameters' : 'its latest checkpoint'}`,
      };
    case 'calibrated':
      return {
        at,
        level: 'info',
        text: `calibrated: ${event.calibration.stepTimeMs.toFixed(0)} ms per step, ${event.calibration.samplesPerSec.toFixed(0)} samples/s`,
      };
    case 'shard-released':
      return { at, level: 'warn', text: `gave back shard ${event.lease.shard}: ${event.reason}` };
    case 'shard-cancelled':
      return { at, level: 'info', text: `stopped shard ${event.lease.shard}: ${event.reason}` };
    case 'checkpoint':
      return {
        at,
        level: event.ok ? 'info' : 'warn',
        text: event.ok
          ? 'uploaded parameters for a checkpoint'
          : `checkpoint not answered: ${event.message ?? ''}`,
      };
    case 'restart':
      return { at, level: 'warn', text: `trainer restarted (${event.code}): ${event.message}` };
    case 'error':
      return { at, level: 'warn', text: `${event.code}: ${event.message}` };
    default:
      return null;
  }
}

export class VolunteerSession {
  readonly #store: VolunteerStore;
  #generation = 0;
  #runtime: VolunteerRuntime | null = null;
  #mesh: PeerMesh | null = null;
  #averaging: AveragingClient | null = null;
  readonly #onVisibility = (): void => this.#applyVisibility();

  constructor(store: VolunteerStore) {
    this.#store = store;
  }

  get running(): boolean {
    return this.#store.get().running;
  }

  get trainer(): VolunteerTrainer | null {
    return this.#runtime?.trainer ?? null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const generation = ++this.#generation;
    const live = (): boolean => generation === this.#generation;
    this.#store.update((s) => ({
      ...INITIAL_STATE,
      dutyCycle: s.dutyCycle,
      pauseWhenHidden: s.pauseWhenHidden,
      pausedByUser: s.pausedByUser,
      running: true,
      startedAt: Date.now(),
      step: 'Detecting WebGPU',
      connection: 'connecting',
    }));
    try {
      const device = await probeWebGpu();
      if (!live()) return;
      this.#store.update({
        adapter: device.adapter,
        webgpuReason: device.reason,
        step: 'Starting the trainer (TensorFlow.js in a worker)',
      });
      const origin = location.origin;
      const averagingOf = (rt: VolunteerRuntime): AveragingClient =>
        (this.#averaging ??= new AveragingClient({
          runtime: rt,
          baseUrl: origin,
          onFrame: (record) => {
            if (!live()) return;
            this.#store.update((s) => ({
              receivedFrames: [...s.receivedFrames, record].slice(-MAX_RECEIVED_RECORDS),
            }));
          },
        }));
      const runtime: VolunteerRuntime = new VolunteerRuntime({
        baseUrl: origin,
        createCompute: () => createWorkerCompute(location.search, averagingOf(runtime)),
        userAgent: navigator.userAgent,
        adapter: device.adapter,
        dutyCycle: this.#store.get().dutyCycle,
        // The worker downloads the job's checkpoint and uploads checkpoints itself: the page
        // neither holds, decodes nor encodes the vector for them.
        trainer: { parametersInCompute: true },
        // After every shard: gossip with peers, or FedAvg, by the job's mode — in the trainer's
        // worker, where the parameters are; the page only moves the mesh's chunks (PeerMesh).
        averaging: (rt) => averagingOf(rt),
        hooks: {
          onConnectionState: (connection, connectionDetail) => {
            if (live()) this.#store.update({ connection, connectionDetail });
          },
          onPeers: (peers) => {
            if (live()) this.#store.update({ peers });
          },
          onJoined: (accepted, connection) => {
            if (!live()) return;
            this.#store.update({ nodeId: accepted.nodeId, step: 'Volunteering' });
            this.#ensureMesh(accepted, connection, live);
          },
          onSessionToken: (token) => {
            if (live()) this.#mesh?.renewToken(token);
          },
          onSelfTest: (report) => {
            if (live())
              this.#store.update({ selfTest: report.passed ? 'passed' : 'failed', selfTestReport: report });
          },
          onRejected: (error) => {
            if (!live()) return;
            const line: TrainerLogLine = {
              at: Date.now(),
              level: 'warn',
              text: `ignored a malformed message from the coordinator (${error.code}): ${error.message}`,
            };
            this.#store.update((s) => ({ trainerLog: [...s.trainerLog, line].slice(-MAX_LOG_LINES) }));
          },
        },
      });
      this.#runtime = runtime;
      void this.#follow(runtime.trainer, live);
      this.#applyVisibility();
      runtime.trainer.setPaused('user', this.#store.get().pausedByUser);
      document.addEventListener('visibilitychange', this.#onVisibility);
      const backend = await runtime.start();
      if (!live()) return;
      this.#store.update({
        backend: backend.backend,
        fallbackReason: backend.fallbackReason,
        step: 'Connecting to the coordinator',
      });
    } catch (error) {
      if (!live()) return;
      this.#teardown();
      this.#store.update({
        connection: 'error',
        connectionDetail: errorText(error),
        step: 'Failed to start',
      });
    }
  }

  stop(): void {
    this.#generation++;
    this.#teardown();
    this.#store.update((s) => ({
      ...INITIAL_STATE,
      // Keep what was learnt about the device and received, so the page still shows it after Stop.
      backend: s.backend,
      fallbackReason: s.fallbackReason,
      adapter: s.adapter,
      webgpuReason: s.webgpuReason,
      receivedFrames: s.receivedFrames,
      trainer: s.trainer === null ? null : { ...s.trainer, phase: 'stopped', lease: null },
      trainerLog: s.trainerLog,
      dutyCycle: s.dutyCycle,
      pauseWhenHidden: s.pauseWhenHidden,
      pausedByUser: s.pausedByUser,
      step: 'Stopped',
    }));
  }

  setDutyCycle(dutyCycle: number): void {
    this.#store.update({ dutyCycle });
    this.trainer?.setDutyCycle(dutyCycle);
  }

  setPauseWhenHidden(pauseWhenHidden: boolean): void {
    this.#store.update({ pauseWhenHidden });
    this.#applyVisibility();
  }

  /** Pause / Resume: the lease in progress waits at its next step; nothing is given back. */
  setPausedByUser(pausedByUser: boolean): void {
    this.#store.update({ pausedByUser });
    this.trainer?.setPaused('user', pausedByUser);
  }

  async sendFrame(peerId: string, elements: number): Promise<SendFrameResult> {
    const mesh = this.#mesh;
    const averaging = this.#averaging;
    if (mesh === null || averaging === null)
      return { ok: false, bytes: 0, checksum: 0, error: 'not connected to any peer network: press Start' };
    // Prefer WebRTC: give the Peer time to register before the mesh would fall back to the relay.
    await mesh.whenOpen();
    return averaging.sendTestFrame(peerId, elements);
  }

  /** One averaging exchange of seeded random values in the worker (tests: see the test API). */
  async testExchange(...args: Parameters<AveragingClient['testExchange']>): Promise<TestExchangeResult> {
    const mesh = this.#mesh;
    const averaging = this.#averaging;
    if (mesh === null || averaging === null)
      return {
        ok: false,
        error: 'not connected to any peer network: press Start',
        sampled: [],
        durationMs: 0,
      };
    await mesh.whenOpen();
    return averaging.testExchange(...args);
  }

  /** Which kernels the worker's averaging ran, and how often; null before Start. */
  averagingStats(): Promise<AveragingKernelStats | null> {
    return this.#averaging?.stats() ?? Promise.resolve(null);
  }

  /** Blocks peer traffic with these nodes (tests and simulations); false without a mesh. */
  blockPeers(nodeIds: readonly string[]): boolean {
    if (this.#mesh === null || this.#averaging === null) return false;
    this.#averaging.blockPeers(nodeIds);
    return true;
  }

  unblockPeers(): boolean {
    if (this.#mesh === null || this.#averaging === null) return false;
    this.#averaging.unblockPeers();
    return true;
  }

  /** Copies the trainer's status into the store after every event it reports. */
  async #follow(trainer: VolunteerTrainer, live: () => boolean): Promise<void> {
    for await (const event of trainer.events) {
      if (!live()) continue;
      const line = logLine(event);
      this.#store.update((s) => ({
        trainer: trainer.status,
        ...(event.type === 'backend'
          ? { backend: event.backend.backend, fallbackReason: event.backend.fallbackReason }
          : {}),
        ...(line === null ? {} : { trainerLog: [...s.trainerLog, line].slice(-MAX_LOG_LINES) }),
      }));
    }
  }

  #applyVisibility(): void {
    const hidden = typeof document !== 'undefined' && document.visibilityState === 'hidden';
    this.trainer?.setPaused('hidden', hidden && this.#store.get().pauseWhenHidden);
  }

  #ensureMesh(accepted: JoinAccepted, connection: CoordinatorConnection, live: () => boolean): void {
    // A resumed identity keeps its Peer and mesh (with its new session's token); a new node id
    // (the coordinator forgot us) needs new ones.
    if (this.#mesh?.nodeId === accepted.nodeId) {
      this.#mesh.renewToken(accepted.peerjs.token);
      return;
    }
    this.#mesh?.destroy();
    this.#mesh = new PeerMesh({
      accepted,
      socket: connection.socket,
      members: this.#store.get().peers.map((p) => p.nodeId),
      callbacks: {
        onState: (peerServer, peerServerDetail) => {
          if (live()) this.#store.update({ peerServer, peerServerDetail });
        },
      },
    });
    this.#averaging?.setHost(this.#mesh.host);
  }

  #teardown(): void {
    document.removeEventListener('visibilitychange', this.#onVisibility);
    const runtime = this.#runtime;
    this.#runtime = null;
    // The trainer gives its lease back over the socket before the socket closes (or a grace period).
    void runtime?.stop();
    this.#mesh?.destroy();
    this.#mesh = null;
    this.#averaging?.close();
    this.#averaging = null;
  }
}
