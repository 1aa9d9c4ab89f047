/**
 * The store a test opens: the embedded SQLite file, or — in the `postgres` test project — an
 * empty schema of the project's PostgreSQL server (postgres-global-setup.ts), so the same test
 * file checks both engines.
 */
import { inject } from 'vitest';
import { freshSchema } from './postgres-server.ts';
import { openStore, type Store } from './store.ts';

let workerSchema: string | undefined;
let created = 0;

/** The PostgreSQL URL this test's stores use; undefined outside the postgres project (SQLite). */
export function testStoreUrl(): string | undefined {
  const server = inject('postgresUrl');
  return server === undefined || server === '' ? undefined : server;
}

/** A URL for a new, empty schema (one database state, e.g. for one spawned coordinator). */
export function freshTestSchema(): string {
  const server = testStoreUrl();
  if (server === undefined) throw new Error('not in the postgres test project');
  created += 1;
  return freshSchema(server, `t${process.pid}_${created}`);
}

/**
 * An empty store in `dir`. On PostgreSQL one schema per test worker is reused and emptied
 * (DELETE), since a property test opens a thousand stores; returns its URL for reopening.
 */
export function openEmptyTestStore(dir: string): { store: Store; url: string | undefined } {
  if (testStoreUrl() === undefined) return { store: openStore(dir), url: undefined };
  workerSchema ??= freshTestSchema();
  const store = openStore(dir, { url: workerSchema });
  const tables = store.db
    .prepare(
      `SELECT tablename AS name FROM pg_tables
       WHERE schemaname = current_schema() AND tablename <> 'schema_migrations'`,
    )
    .all() as { name: string }[];
  // DELETE rather than TRUNCATE: these tables hold a few rows, and TRUNCATE's new files cost more.
  store.db.exec(tables.map((t) => `DELETE FROM ${t.name};`).join(' '));
  return { store, url: workerSchema };
}
