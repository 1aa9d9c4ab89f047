/**
 * Hash routes: #/ (overview), #/jobs, #/jobs/:id, #/submit, #/nodes, #/events?kind=a,b&job=id.
 * The coordinator serves one index.html, so the hash is the whole router; links are plain <a>.
 */
import { useSyncExternalStore } from 'react';
import { EVENT_KINDS, type EventKind } from '@tabswarm/protocol';

export type Route =
  | { readonly page: 'overview' }
  | { readonly page: 'jobs' }
  | { readonly page: 'job'; readonly jobId: string }
  | { readonly page: 'submit' }
  | { readonly page: 'nodes' }
  | { readonly page: 'events'; readonly kinds: readonly EventKind[]; readonly jobId: string | null }
  | { readonly page: 'not-found'; readonly path: string };

const KINDS: ReadonlySet<string> = new Set(EVENT_KINDS);

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const [pathPart = '', query = ''] = raw.split('?', 2);
  const path = pathPart.replace(/\/+$/, '') || '/';
  const params = new URLSearchParams(query);
  if (path === '/' || path === '') return { page: 'overview' };
  if (path === '/jobs') return { page: 'jobs' };
  if (path === '/submit') return { page: 'submit' };
  if (path === '/nodes') return { page: 'nodes' };
  if (path === '/events') {
    const kinds = (params.get('kind') ?? '').split(',').filter((k): k is EventKind => KINDS.has(k));
    const job = params.get('job');
    return { page: 'events', kinds, jobId: job === null || job === '' ? null : job };
  }
  const job = /^\/jobs\/([A-Za-z0-9_-]{1,64})$/.exec(path);
  if (job?.[1] !== undefined) return { page: 'job', jobId: job[1] };
  return { page: 'not-found', path };
}

export function routeHref(route: Route): string {
  switch (route.page) {
    case 'overview':
      return '#/';
    case 'jobs':
      return '#/jobs';
    case 'job':
      return `#/jobs/${encodeURIComponent(route.jobId)}`;
    case 'submit':
      return '#/submit';
    case 'nodes':
      return '#/nodes';
    case 'events': {
      const params = new URLSearchParams();
      if (route.kinds.length > 0) params.set('kind', route.kinds.join(','));
      if (route.jobId !== null) params.set('job', route.jobId);
      const query = params.toString();
      return query === '' ? '#/events' : `#/events?${query}`;
    }
    case 'not-found':
      return `#${route.path}`;
  }
}

export const jobHref = (jobId: string): string => routeHref({ page: 'job', jobId });

/** Fired by replaceRoute, which changes the hash without a hashchange event. */
const ROUTE_REPLACED = 'tabswarm:route-replaced';

function subscribe(listener: () => void): () => void {
  window.addEventListener('hashchange', listener);
  window.addEventListener(ROUTE_REPLACED, listener);
  return () => {
    window.removeEventListener('hashchange', listener);
    window.removeEventListener(ROUTE_REPLACED, listener);
  };
}

/** The current location hash (a string, so React compares it by value). */
export function useHash(): string {
  return useSyncExternalStore(subscribe, () => window.location.hash);
}

export function navigate(route: Route): void {
  window.location.hash = routeHref(route);
}

/**
 * Changes the route in place, synchronously and without a history entry: for filters, which
 * controlled inputs must see applied within the same event.
 */
export function replaceRoute(route: Route): void {
  window.history.replaceState(window.history.state, '', routeHref(route));
  window.dispatchEvent(new Event(ROUTE_REPLACED));
}
