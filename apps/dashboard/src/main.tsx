/**
 * Composition root of the dashboard: one store fed by one coordinator connection, the REST client,
 * the operator token, and the React tree.
 */
import '@tabswarm/protocol/strict-csp'; // first: see its comment
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '@tabswarm/ui/theme.css';
import type { LogEvent } from '@tabswarm/protocol';
import { createStore } from '@tabswarm/ui';
import { Api } from './api.ts';
import { App } from './App.tsx';
import { DashboardConnection } from './dashboard-connection.ts';
import { ServicesContext, type Services } from './services.ts';
import { INITIAL_STATE, withConsensusPoint, withEvents, withJobs, withLinks } from './store.ts';
import { createTokenStore } from './token.ts';
import './styles.css';
import './job-page.css';
import './topology.css';
import './forms.css';
import './events.css';
import './trust.css';

/** Job, node and event updates reach React at most this often (see StoreOptions). */
const RENDER_EVERY_MS = 200;

const api = new Api();
const store = createStore(INITIAL_STATE, { notifyEveryMs: RENDER_EVERY_MS });
const tokens = createTokenStore(typeof sessionStorage === 'undefined' ? null : sessionStorage);

/** Events that arrived live since the last subscribe, merged into the history fetched after it. */
let liveSinceSubscribe: LogEvent[] = [];

async function loadHistory(): Promise<void> {
  const history = await api.events({ limit: 2000 });
  store.update(() => ({ events: withEvents(history, liveSinceSubscribe) }));
}

const connection = new DashboardConnection({
  onState: (state, detail) => store.update({ connection: state, connectionDetail: detail }),
  onSnapshot: (nodes, jobs, clockOffsetMs) => {
    liveSinceSubscribe = [];
    store.update((s) => ({
      nodes: new Map(nodes.map((n) => [n.id, n])),
      clockOffsetMs,
      ...(jobs === null ? {} : withJobs(s, jobs, Date.now(), true)),
    }));
    if (jobs === null) {
      api.jobs().then(
        (list) => store.update((s) => withJobs(s, list, Date.now(), true)),
        () => undefined,
      );
    }
    loadHistory().catch(() => undefined); // live events still arrive; history returns on the next connect
    // Link reports: the latest of each volunteer from REST, then socket updates.
    api.links().then(
      (reports) => store.update((s) => ({ links: withLinks(s.links, reports, true) })),
      () => undefined,
    );
  },
  onNode: (node) => store.update((s) => ({ nodes: new Map(s.nodes).set(node.id, node) })),
  onJob: (job) => store.update((s) => withJobs(s, [job], Date.now())),
  onEvent: (event) => {
    liveSinceSubscribe.push(event);
    if (liveSinceSubscribe.length > 2000) liveSinceSubscribe.shift();
    store.update((s) => ({ events: withEvents(s.events, [event]) }));
  },
  onLinks: (links) => store.update((s) => ({ links: withLinks(s.links, [links]) })),
  onConsensus: (point) => store.update((s) => ({ consensus: withConsensusPoint(s.consensus, point) })),
});
connection.start();
window.addEventListener('pagehide', () => connection.stop());

// A token kept from earlier in this session is checked once at load.
const saved = tokens.get().token;
if (saved !== null) {
  api.verifyToken(saved).then(
    (result) => {
      if (result === 'accepted') tokens.accept(saved);
      else if (result.isAuth)
        tokens.refuse(`The coordinator refused the saved operator token (${result.status}).`);
      else tokens.unchecked(saved, `Could not check the token: ${result.message}`);
    },
    () => undefined,
  );
}

const services: Services = { store, tokens, api };
const container = document.getElementById('root');
if (container === null) throw new Error('index.html has no #root element');
createRoot(container).render(
  <StrictMode>
    <ServicesContext.Provider value={services}>
      <App />
    </ServicesContext.Provider>
  </StrictMode>,
);
