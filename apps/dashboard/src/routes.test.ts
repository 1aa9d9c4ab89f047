import { describe, expect, it } from 'vitest';
import { parseRoute, routeHref, type Route } from './routes.ts';

describe('hash routes', () => {
  it('parses every page', () => {
    expect(parseRoute('')).toEqual({ page: 'overview' });
    expect(parseRoute('#/')).toEqual({ page: 'overview' });
    expect(parseRoute('#/jobs')).toEqual({ page: 'jobs' });
    expect(parseRoute('#/jobs/')).toEqual({ page: 'jobs' });
    expect(parseRoute('#/jobs/job-0123456789ab')).toEqual({ page: 'job', jobId: 'job-0123456789ab' });
    expect(parseRoute('#/submit')).toEqual({ page: 'submit' });
    expect(parseRoute('#/nodes')).toEqual({ page: 'nodes' });
    expect(parseRoute('#/events')).toEqual({ page: 'events', kinds: [], jobId: null });
    expect(parseRoute('#/events?kind=join,bogus,checkpoint&job=job-0123456789ab')).toEqual({
      page: 'events',
      kinds: ['join', 'checkpoint'],
      jobId: 'job-0123456789ab',
    });
    expect(parseRoute('#/what')).toEqual({ page: 'not-found', path: '/what' });
    expect(parseRoute('#/jobs/a/b')).toEqual({ page: 'not-found', path: '/jobs/a/b' });
  });

  it('builds links that parse back to the same route', () => {
    const routes: Route[] = [
      { page: 'overview' },
      { page: 'jobs' },
      { page: 'job', jobId: 'job-0123456789ab' },
      { page: 'submit' },
      { page: 'nodes' },
      { page: 'events', kinds: [], jobId: null },
      { page: 'events', kinds: ['lease-expired', 'error'], jobId: 'job-0123456789ab' },
    ];
    for (const route of routes) expect(parseRoute(routeHref(route))).toEqual(route);
  });
});
