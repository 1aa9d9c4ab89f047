/** Composition root of the volunteer page: one store, one session, the test hook, the React tree. */
import '@tabswarm/protocol/strict-csp'; // first: see its comment
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '@tabswarm/ui/theme.css';
import { App } from './App.tsx';
import { VolunteerSession } from './session.ts';
import { createVolunteerStore } from './store.ts';
import { installTestApi } from './test-api.ts';
import './styles.css';

const store = createVolunteerStore();
const session = new VolunteerSession(store);
installTestApi(session, store);
// Leaving the page is a Stop: close the socket and the peer links instead of letting them time out.
window.addEventListener('pagehide', () => session.stop());

const container = document.getElementById('root');
if (container === null) throw new Error('index.html has no #root element');
createRoot(container).render(
  <StrictMode>
    <App session={session} store={store} />
  </StrictMode>,
);
