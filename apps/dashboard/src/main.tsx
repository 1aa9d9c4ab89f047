/** Composition root of the dashboard: one store fed by one coordinator connection, and the React tree. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { DashboardConnection } from './dashboard-connection.ts';
import { createStore, INITIAL_STATE } from './store.ts';
import './styles.css';

const store = createStore(INITIAL_STATE);
const connection = new DashboardConnection({
  onState: (state, detail) => store.update({ connection: state, connectionDetail: detail }),
  onSnapshot: (nodes, clockOffsetMs) =>
    store.update({ nodes: new Map(nodes.map((n) => [n.id, n])), clockOffsetMs }),
  onNode: (node) => store.update((s) => ({ nodes: new Map(s.nodes).set(node.id, node) })),
});
connection.start();
window.addEventListener('pagehide', () => connection.stop());

const container = document.getElementById('root');
if (container === null) throw new Error('index.html has no #root element');
createRoot(container).render(
  <StrictMode>
    <App store={store} />
  </StrictMode>,
);
