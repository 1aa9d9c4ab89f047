/**
 * One volunteering session, from Start to Stop: detect the device, start the trainer's worker
 * (TensorFlow.js runs there, off this thread), join the coordinator, run the self-test, open the
 * peer mesh, then train on leased shards until Stop. Writes what happens into the store.
 */
import type { Capabilities, Heartbeat, JoinAccepted, SelfTestReport } from '@tabswarm/protocol';
import {
  CoordinatorConnection,
  HttpCoordinatorApi,
  TrainerError,
  VolunteerTrainer,
  WorkerCompute,
  sleep,
  type LeaseCoordinator,
  type TrainerEvent,
} from '@tabswarm/trainer';
import { SwarmAveraging, httpFedAvgPort } from '@tabswarm/gossip';
import { referenceKernels } from '@tabswarm/gossip/kernel-library';
import { detectWebGpu, errorText } from './detect-device.ts';
import { PeerMesh } from './peer-mesh.ts';
import { INITIAL_STATE, type TrainerLogLine, type VolunteerStore } from './store.ts';
import type { SendFrameResult } from './test-api-types.ts';

/** Received-frame records kept for the page and the test API. */
const MAX_RECEIVED_RECORDS = 200;
const MAX_LOG_LINES = 50;
/** How long Stop waits for the trainer to give its lease back before closing the socket. */
const STOP_GRACE_MS = 3_000;

/** The report sent when the trainer's worker cannot run the self-test at all. */
function failedSelfTest(error: unknown, durationMs: number): SelfTestReport {
  return {
    kernel: 'mix',
    passed: false,
    path: 'reference',
    elements: 1,
    maxAbsError: null,
    durationMs,
    error: errorText(error).slice(0, 1024),
  };
}

/** The lease calls over the socket, as the trainer's port: failures become typed errors. */
function leasePort(connection: () => CoordinatorConnection | null): LeaseCoordinator {
  const unavailable = (): TrainerError =>
    new TrainerError('COORDINATOR_UNAVAILABLE', 'not connected to the coordinator');
  const refused = (reply: { code: string; message: string }): TrainerError =>
    reply.code === 'NOT_JOINED' || reply.code === 'UNKNOWN_NODE'
      ? new TrainerError('COORDINATOR_UNAVAILABLE', `${reply.code}: ${reply.message}`)
      : new TrainerError('COORDINATOR_REFUSED', `${reply.code}: ${reply.message}`);
  return {
    async requestLease(request) {
      const reply = await connection()?.requestLease(request);
      if (reply === null || reply === undefined) throw unavailable();
      if (!reply.ok) throw refused(reply);
      const retryAfterMs = typeof reply.retryAfterMs === 'number' ? reply.retryAfterMs : 2_000;
      return { lease: reply.lease as unknown, retryAfterMs };
    },
    async completeLease(completion) {
      const reply = await connection()?.completeLease(completion);
      if (reply === null || reply === undefined) throw unavailable();
      if (!reply.ok) throw refused(reply);
      return { counted: reply.counted === true, duplicate: reply.duplicate === true };
    },
    async releaseLease(release) {
      const reply = await connection()?.releaseLease(release);
      if (reply === null || reply === undefined) throw unavailable();
      if (!reply.ok) throw refused(reply);
    },
  };
}

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
  #coordinator: CoordinatorConnection | null = null;
  #mesh: PeerMesh | null = null;
  #trainer: VolunteerTrainer | null = null;
  #averaging: SwarmAveraging | null = null;
  #accepted: JoinAccepted | null = null;
  #selfTesting = false;
  #serverOffsetMs = 0;
  readonly #onVisibility = (): void => this.#applyVisibility();

  constructor(store: VolunteerStore) {
    this.#store = store;
  }

  get running(): boolean {
    return this.#store.get().running;
  }

  get trainer(): VolunteerTrainer | null {
    return this.#trainer;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const generation = ++this.#generation;
    const live = (): boolean => generation === this.#generation;
    const startedAt = Date.now();
    this.#store.update((s) => ({
      ...INITIAL_STATE,
      dutyCycle: s.dutyCycle,
      pauseWhenHidden: s.pauseWhenHidden,
      running: true,
      startedAt,
      step: 'Detecting WebGPU',
      connection: 'connecting',
    }));
    try {
      const device = await detectWebGpu();
      if (!live()) return;
      this.#store.update({
        adapter: device.adapter,
        webgpuReason: device.reason,
        step: 'Starting the trainer (TensorFlow.js in a worker)',
      });
      const origin = location.origin;
      // This session's connection, kept past teardown so the trainer can still give its lease back.
      let connection: CoordinatorConnection | null = null;
      // After every shard: gossip with peers over this tab's mesh, or FedAvg, by the job's mode.
      // The page has no TensorFlow.js (it runs in the trainer's worker): the reference kernels.
      const averaging = new SwarmAveraging({
        mesh: () => this.#mesh?.mesh ?? null,
        kernels: referenceKernels,
        averaging: (jobId) => {
          const job = this.#trainer?.status.job;
          return job?.id === jobId ? job.spec.averaging : undefined;
        },
        fedAvgPort: (jobId) => {
          const accepted = this.#accepted;
          return httpFedAvgPort({
            baseUrl: origin,
            jobId,
            nodeId: accepted?.nodeId ?? '',
            peerToken: accepted?.peerjs.token ?? '',
          });
        },
      });
      this.#averaging = averaging;
      const trainer = new VolunteerTrainer({
        baseUrl: origin,
        api: new HttpCoordinatorApi(origin),
        coordinator: leasePort(() => connection),
        createCompute: () => new WorkerCompute(),
        nodeId: () => this.#store.get().nodeId,
        dutyCycle: this.#store.get().dutyCycle,
        now: () => Date.now() + this.#serverOffsetMs,
        averaging,
      });
      this.#trainer = trainer;
      void this.#follow(trainer, live);
      this.#applyVisibility();
      document.addEventListener('visibilitychange', this.#onVisibility);
      const backend = await trainer.start();
      if (!live()) return;
      this.#store.update({
        backend: backend.backend,
        fallbackReason: backend.fallbackReason,
        step: 'Connecting to the coordinator',
      });
      const capabilities: Capabilities = {
        backend: backend.backend,
        adapter: backend.adapter ?? device.adapter,
        fallbackReason: backend.fallbackReason,
        userAgent: navigator.userAgent.slice(0, 512),
      };
      connection = new CoordinatorConnection({
        capabilities,
        heartbeat: () => this.#heartbeat(startedAt),
        callbacks: {
          onState: (state, connectionDetail) => {
            if (live()) this.#store.update({ connection: state, connectionDetail });
          },
          onPeers: (peers) => {
            if (live()) this.#store.update({ peers });
          },
          onServerTime: (offsetMs) => {
            this.#serverOffsetMs = offsetMs;
          },
          onLeaseCancelled: (notice) => trainer.leaseCancelled(notice),
          onCheckpointRequest: (request) => trainer.checkpointRequested(request),
          onJoined: (accepted, first) => {
            if (!live()) return;
            this.#store.update({ nodeId: accepted.nodeId, step: 'Volunteering' });
            this.#ensureMesh(accepted, connection, live);
            if (first) void this.#selfTestThenTrain(trainer, live);
          },
        },
      });
      this.#coordinator = connection;
      connection.start();
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
      step: 'Stopped',
    }));
  }

  setDutyCycle(dutyCycle: number): void {
    this.#store.update({ dutyCycle });
    this.#trainer?.setDutyCycle(dutyCycle);
  }

  setPauseWhenHidden(pauseWhenHidden: boolean): void {
    this.#store.update({ pauseWhenHidden });
    this.#applyVisibility();
  }

  async sendFrame(peerId: string, elements: number): Promise<SendFrameResult> {
    const mesh = this.#mesh;
    if (mesh === null)
      return { ok: false, bytes: 0, checksum: 0, error: 'not connected to any peer network: press Start' };
    return mesh.sendRandomFrame(peerId, elements);
  }

  #heartbeat(startedAt: number): Heartbeat {
    const trainer = this.#trainer;
    const phase = trainer?.status.phase;
    const state: Heartbeat['state'] =
      this.#selfTesting || phase === 'training' || phase === 'calibrating'
        ? 'working'
        : phase === 'paused'
          ? 'paused'
          : 'idle';
    const health = trainer?.health() ?? null;
    return {
      state,
      uptimeS: Math.max(0, (Date.now() - startedAt) / 1000),
      ...(health === null ? {} : { health }),
    };
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

  async #selfTestThenTrain(trainer: VolunteerTrainer, live: () => boolean): Promise<void> {
    const started = performance.now();
    this.#selfTesting = true;
    let report: SelfTestReport;
    try {
      report = await trainer.selfTest();
    } catch (error) {
      report = failedSelfTest(error, Math.min(performance.now() - started, 1e7));
    }
    this.#selfTesting = false;
    if (!live()) return;
    this.#store.update({ selfTest: report.passed ? 'passed' : 'failed', selfTestReport: report });
    await this.#coordinator?.sendSelfTest(report);
    if (live()) trainer.run();
  }

  #applyVisibility(): void {
    const hidden = typeof document !== 'undefined' && document.visibilityState === 'hidden';
    this.#trainer?.setPaused('hidden', hidden && this.#store.get().pauseWhenHidden);
  }

  #ensureMesh(accepted: JoinAccepted, connection: CoordinatorConnection | null, live: () => boolean): void {
    this.#accepted = accepted;
    // A resumed identity keeps its Peer and mesh; a new node id (the coordinator forgot us) needs new ones.
    if (this.#mesh?.nodeId === accepted.nodeId || connection === null) return;
    this.#mesh?.destroy();
    this.#mesh = new PeerMesh({
      accepted,
      socket: connection.socket,
      members: this.#store.get().peers.map((p) => p.nodeId),
      callbacks: {
        onState: (peerServer, peerServerDetail) => {
          if (live()) this.#store.update({ peerServer, peerServerDetail });
        },
        onReceived: (record) => {
          if (!live()) return;
          this.#store.update((s) => ({
            receivedFrames: [...s.receivedFrames, record].slice(-MAX_RECEIVED_RECORDS),
          }));
        },
      },
    });
  }

  #teardown(): void {
    document.removeEventListener('visibilitychange', this.#onVisibility);
    const trainer = this.#trainer;
    const coordinator = this.#coordinator;
    this.#trainer = null;
    this.#coordinator = null;
    // The trainer gives its lease back over the socket, so the socket closes after it (or a grace period).
    const stopped =
      trainer === null ? Promise.resolve() : Promise.race([trainer.stop(), sleep(STOP_GRACE_MS)]);
    void stopped.finally(() => coordinator?.stop());
    this.#averaging?.close();
    this.#averaging = null;
    this.#mesh?.destroy();
    this.#mesh = null;
    this.#accepted = null;
    this.#selfTesting = false;
  }
}
