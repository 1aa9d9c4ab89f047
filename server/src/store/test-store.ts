/**
 * The store a test opens: the embedded SQLite file, or — in the `postgres` test project — an
 * empty schema of the project's PostgreSQL server (postgres-global-setup.ts), so the same test
 * file checks both engines.
 */
import { inject } from 'vitest';
import { openPostgresDatabase } from './postgres-database.ts';
import { freshSchema } from './postgres-server.ts';
import type { SqlDatabase } from './sql-database.ts';
import { openStore, type Store } from './store.ts';

let workerSchema: string | undefined;
let created = 0;
/**
 * This worker's connection to its schema, shared by its stores (a connection costs 10-25 ms, a
 * thousand times over in the property test) and left open when one closes; its statements are
 * prepared once (postgres-database.ts keeps them by SQL text).
 */
let shared: SqlDatabase | undefined;

function sharedConnection(url: string): SqlDatabase {
  shared ??= openPostgresDatabase(url);
  const db = shared;
  return { ...db, close: () => {} };
}

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
export function openEmptyTestStore(dir: string): {
  store: Store;
  url: string | undefined;
  /** Opens the same store again (what a restart finds). */
  reopen: () => Store;
} {
  if (testStoreUrl() === undefined)
    return { store: openStore(dir), url: undefined, reopen: () => openStore(dir) };
  workerSchema ??= freshTestSchema();
  const store = openStore(dir, { url: workerSchema, database: sharedConnection(workerSchema) });
  const tables = store.db
    .prepare(
      `SELECT tablename AS name FROM pg_tables
       WHERE schemaname = current_schema() AND tablename <> 'schema_migrations'`,
    )
    .all() as { name: string }[];
  // DELETE rather than TRUNCATE: these tables hold a few rows, and TRUNCATE's new files cost more.
  store.db.exec(tables.map((t) => `DELETE FROM ${t.name};`).join(' '));
  const url = workerSchema;
  return { store, url, reopen: () => openStore(dir, { url, database: sharedConnection(url) }) };
}
