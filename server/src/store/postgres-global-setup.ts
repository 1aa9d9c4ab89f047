/**
 * Vitest global setup of the `postgres` project: one throwaway PostgreSQL server for its test
 * files (each file's stores get their own schema: test-store.ts). `npm test` installs PostgreSQL
 * when missing and sets TABSWARM_REQUIRE_POSTGRES, so there a missing server fails the run; a bare
 * `vitest` on a machine without PostgreSQL skips these files and says so.
 */
import type { TestProject } from 'vitest/node';
import { findPostgresBin, startPostgres } from './postgres-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test server's URL; '' when PostgreSQL is not installed (the tests are skipped). */
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  if (findPostgresBin() === null && process.env.TABSWARM_REQUIRE_POSTGRES !== '1') {
    console.warn('[tabswarm] PostgreSQL is not installed: the postgres project is skipped');
    project.provide('postgresUrl', '');
    return () => {};
  }
  // The tests kill coordinators, never the database: its own durability is not under test.
  const server = await startPostgres({ settings: { fsync: 'off', synchronous_commit: 'off' } });
  // Through its Unix socket: the property test's thousand runs wait on round trips.
  project.provide('postgresUrl', server.socketUrl);
  return () => server.stop();
}
