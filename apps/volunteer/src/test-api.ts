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
  };
}

export function installTestApi(session: VolunteerSession, store: VolunteerStore): void {
  window.tabswarmTest = createTestApi(session, store);
}
