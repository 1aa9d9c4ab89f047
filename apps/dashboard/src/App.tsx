/**
 * The dashboard shell: header (navigation, coordinator connection, operator token), the
 * read-only notice, and the page for the current hash route.
 */
import { useEffect, useRef } from 'react';
import { useNow, useStoreState } from '@tabswarm/ui';
import { EventLog } from './EventLog.tsx';
import { JobPage } from './JobPage.tsx';
import { JobsList } from './JobsList.tsx';
import { NodeTable } from './NodeTable.tsx';
import { ContributorsCard } from './ContributorsCard.tsx';
import { parseRoute, replaceRoute, routeHref, useHash, type Route } from './routes.ts';
import { useServices } from './services.ts';
import { SubmitJob } from './SubmitJob.tsx';
import { canWrite } from './token.ts';
import { TokenBar } from './TokenBar.tsx';
import { Topology } from './Topology.tsx';
import { ReadOnlyHint } from './ReadOnlyHint.tsx';

const NAV: readonly { readonly route: Route; readonly label: string }[] = [
  { route: { page: 'overview' }, label: 'Overview' },
  { route: { page: 'jobs' }, label: 'Jobs' },
  { route: { page: 'submit' }, label: 'Submit a job' },
  { route: { page: 'nodes' }, label: 'Nodes' },
  { route: { page: 'events', kinds: [], jobId: null }, label: 'Events' },
];

export function App() {
  const { store, tokens } = useServices();
  const state = useStoreState(store);
  const token = useStoreState(tokens);
  const now = useNow(1000);
  const serverNow = now + state.clockOffsetMs;
  const hash = useHash();
  const route = parseRoute(hash);
  const writable = canWrite(token);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const firstRoute = useRef(true);

  const title =
    route.page === 'job'
      ? (state.jobs.get(route.jobId)?.name ?? route.jobId)
      : route.page === 'overview'
        ? 'Overview'
        : route.page === 'jobs'
          ? 'Jobs'
          : route.page === 'submit'
            ? 'Submit a job'
            : route.page === 'nodes'
              ? 'Nodes'
              : route.page === 'events'
                ? 'Events'
                : 'Not found';

  useEffect(() => {
    document.title = `${title} · tabswarm`;
  }, [title]);

  // Moving between pages moves focus to the new page's heading, so keyboard and screen-reader
  // users start there (not on the first load: the browser's own start is right then).
  // Filters change the hash too, but stay on the page (and keep focus where it is).
  const pageKey = route.page === 'job' ? `job/${route.jobId}` : route.page;
  useEffect(() => {
    if (firstRoute.current) {
      firstRoute.current = false;
      return;
    }
    headingRef.current?.focus();
  }, [pageKey]);

  const current = route.page === 'job' ? 'jobs' : route.page;
  return (
    <>
      <a
        className="skip-link"
        href="#content"
        onClick={(e) => {
          // The hash is the router: jump by focus, not by #content.
          e.preventDefault();
          headingRef.current?.focus();
        }}
      >
        Skip to content
      </a>
      <header className="top">
        <div className="top-inner">
          <a className="brand" href={routeHref({ page: 'overview' })}>
            tabswarm
          </a>
          <nav aria-label="Pages">
            <ul>
              {NAV.map((item) => (
                <li key={item.label}>
                  <a
                    href={routeHref(item.route)}
                    aria-current={item.route.page === current ? 'page' : undefined}
                  >
                    {item.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <div className="connection">
            <span className="detail">Coordinator</span>{' '}
            <span className={`badge state-${state.connection}`} data-testid="dashboard-connection">
              {state.connection}
            </span>
            {state.connectionDetail !== null && <span className="detail"> {state.connectionDetail}</span>}
          </div>
          <TokenBar />
        </div>
      </header>
      <main className="page" id="content">
        <h1 ref={headingRef} tabIndex={-1} data-testid="page-title">
          {title}
        </h1>
        <ReadOnlyHint canWrite={writable} />
        {route.page === 'overview' && (
          <>
            <JobsList jobs={state.jobs} marks={state.jobMarks} now={now} canWrite={writable} />
            <NodeTable nodes={state.nodes} links={state.links} serverNow={serverNow} />
          </>
        )}
        {route.page === 'jobs' && (
          <JobsList jobs={state.jobs} marks={state.jobMarks} now={now} canWrite={writable} />
        )}
        {route.page === 'job' && (
          <JobPage key={route.jobId} jobId={route.jobId} canWrite={writable} serverNow={serverNow} />
        )}
        {route.page === 'submit' && <SubmitJob canWrite={writable} />}
        {route.page === 'nodes' && (
          <>
            <NodeTable nodes={state.nodes} links={state.links} serverNow={serverNow} />
            <Topology nodes={state.nodes} links={state.links} serverNow={serverNow} />
            <ContributorsCard nodes={state.nodes} />
          </>
        )}
        {route.page === 'events' && (
          <section className="card">
            <EventLog
              events={state.events}
              jobs={state.jobs}
              filter={{ kinds: route.kinds, jobId: route.jobId }}
              onFilterChange={(filter) =>
                replaceRoute({ page: 'events', kinds: filter.kinds, jobId: filter.jobId })
              }
            />
          </section>
        )}
        {route.page === 'not-found' && (
          <p className="empty">
            Nothing at <code>{route.path}</code>.{' '}
            <a href={routeHref({ page: 'overview' })}>Go to the overview</a>.
          </p>
        )}
      </main>
    </>
  );
}
