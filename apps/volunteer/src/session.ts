/**
 * One volunteering session, from Start to Stop: detect the device, start tfjs, join the
 * coordinator, run the self-test, open the peer mesh. Writes what happens into the store.
 */
import type { Capabilities, Heartbeat, JoinAccepted, SelfTestReport } from '@tabswarm/protocol';
import { CoordinatorConnection } from './coordinator-connection.ts';
import { detectWebGpu, errorText } from './detect-device.ts';
import { initBackend } from './init-backend.ts';
import { PeerMesh } from './peer-mesh.ts';
import { INITIAL_STATE, type VolunteerStore } from './store.ts';
import type { SendFrameResult } from './test-api-types.ts';

/** Received-frame records kept for the page and the test API. */
const MAX_RECEIVED_RECORDS = 200;

/** The report sent when the kernels package itself fails to load or throws. */
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

export class VolunteerSession {
  readonly #store: VolunteerStore;
  #generation = 0;
  #coordinator: CoordinatorConnection | null = null;
  #mesh: PeerMesh | null = null;
  #state: Heartbeat['state'] = 'idle';

  constructor(store: VolunteerStore) {
    this.#store = store;
  }

  get running(): boolean {
    return this.#store.get().running;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const generation = ++this.#generation;
    const live = (): boolean => generation === this.#generation;
    const startedAt = Date.now();
    this.#store.update({
      ...INITIAL_STATE,
      running: true,
      startedAt,
      step: 'Detecting WebGPU',
      connection: 'connecting',
    });
    try {
      const device = await detectWebGpu();
      if (!live()) return;
      this.#store.update({
        adapter: device.adapter,
        webgpuReason: device.reason,
        step: 'Starting TensorFlow.js',
      });
      const { backend, fallbackReason } = await initBackend(device.reason);
      if (!live()) return;
      this.#store.update({ backend, fallbackReason, step: 'Connecting to the coordinator' });
      const capabilities: Capabilities = {
        backend,
        adapter: device.adapter,
        fallbackReason,
        userAgent: navigator.userAgent.slice(0, 512),
      };
      this.#coordinator = new CoordinatorConnection({
        capabilities,
        heartbeat: () => ({ state: this.#state, uptimeS: Math.max(0, (Date.now() - startedAt) / 1000) }),
        callbacks: {
          onState: (connection, connectionDetail) => {
            if (live()) this.#store.update({ connection, connectionDetail });
          },
          onPeers: (peers) => {
            if (live()) this.#store.update({ peers });
          },
          onJoined: (accepted, first) => {
            if (!live()) return;
            this.#store.update({ nodeId: accepted.nodeId, step: 'Volunteering' });
            this.#ensureMesh(accepted, live);
            if (first) void this.#selfTest(live);
          },
        },
      });
      this.#coordinator.start();
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
      step: 'Stopped',
    }));
  }

  async sendFrame(peerId: string, elements: number): Promise<SendFrameResult> {
    const mesh = this.#mesh;
    if (mesh === null)
      return { ok: false, bytes: 0, checksum: 0, error: 'not connected to any peer network: press Start' };
    return mesh.sendRandomFrame(peerId, elements);
  }

  #ensureMesh(accepted: JoinAccepted, live: () => boolean): void {
    // A resumed identity keeps its Peer; a new node id (the coordinator forgot us) needs a new one.
    if (this.#mesh?.nodeId === accepted.nodeId) return;
    this.#mesh?.destroy();
    this.#mesh = new PeerMesh(accepted.nodeId, accepted, {
      onState: (peerServer, peerServerDetail) => {
        if (live()) this.#store.update({ peerServer, peerServerDetail });
      },
      onReceived: (record) => {
        if (!live()) return;
        this.#store.update((s) => ({
          receivedFrames: [...s.receivedFrames, record].slice(-MAX_RECEIVED_RECORDS),
        }));
      },
      isMember: (peerId) => this.#store.get().peers.some((p) => p.nodeId === peerId),
    });
  }

  async #selfTest(live: () => boolean): Promise<void> {
    const started = performance.now();
    this.#state = 'working';
    let report: SelfTestReport;
    try {
      const { runMixSelfTest } = await import('@tabswarm/kernels');
      report = await runMixSelfTest();
    } catch (error) {
      report = failedSelfTest(error, Math.min(performance.now() - started, 1e7));
    }
    this.#state = 'idle';
    if (!live()) return;
    this.#store.update({ selfTest: report.passed ? 'passed' : 'failed', selfTestReport: report });
    await this.#coordinator?.sendSelfTest(report);
  }

  #teardown(): void {
    this.#coordinator?.stop();
    this.#coordinator = null;
    this.#mesh?.destroy();
    this.#mesh = null;
    this.#state = 'idle';
  }
}
