/** Installs `window.tabswarmTest`, the typed hook Playwright drives the page through. */
import type { VolunteerSession } from './session.ts';
import type { VolunteerStore } from './store.ts';
import type { TabswarmTestApi } from './test-api-types.ts';

export function createTestApi(session: VolunteerSession, store: VolunteerStore): TabswarmTestApi {
  return {
    getState() {
      const s = store.get();
      return {
        connection: s.connection,
        nodeId: s.nodeId,
        backend: s.backend,
        selfTest: s.selfTest,
        peers: s.peers.map((p) => ({ ...p })),
        peerServer: s.peerServer,
      };
    },
    sendFrame: (peerId, elements) => session.sendFrame(peerId, elements),
    receivedFrames: () => store.get().receivedFrames.map((r) => ({ ...r })),
    trainer() {
      const t = session.trainer?.status ?? store.get().trainer;
      if (t === null) return null;
      return {
        phase: t.phase,
        backend: t.backend?.backend ?? null,
        fallbackReason: t.backend?.fallbackReason ?? null,
        jobId: t.job?.id ?? null,
        leaseId: t.lease?.leaseId ?? null,
        shardsDone: t.shardsDone,
        lastLoss: t.lastLoss,
        samplesPerSec: t.samplesPerSec,
        stepTimeMs: t.stepTimeMs,
        tensors: t.tensors,
        restarts: t.restarts,
        releasedLeases: t.releasedLeases,
        checkpointsUploaded: t.checkpointsUploaded,
        dutyCycle: t.dutyCycle,
        paused: t.paused,
      };
    },
    simulateDeviceLoss: () => session.trainer?.simulateFault('device-loss') ?? Promise.resolve(false),
    simulateWorkerCrash: () => session.trainer?.simulateFault('crash') ?? Promise.resolve(false),
    blockPeers: (nodeIds) => session.blockPeers(nodeIds),
    unblockPeers: () => session.unblockPeers(),
    testExchange: (peerId, elements, seed, sample, timeoutMs) =>
      session.testExchange(peerId, elements, seed, sample, timeoutMs),
    averagingStats: () => session.averagingStats(),
  };
}

export function installTestApi(session: VolunteerSession, store: VolunteerStore): void {
  window.tabswarmTest = createTestApi(session, store);
}
