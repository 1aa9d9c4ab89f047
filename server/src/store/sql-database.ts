/**
 * The SQL the coordinator runs, whatever the engine. Its shape is the part of better-sqlite3 the
 * store and the scheduler use (prepared statements, `?` or `@name` parameters, nested
 * transactions as savepoints), because that is what they were written against: the embedded
 * SQLite store is better-sqlite3 itself, and PostgreSQL (postgres-database.ts) offers the same
 * calls, synchronously, so the scheduler's transactions keep their shape — and their guarantees —
 * on either engine.
 *
 * SQL written for both engines keeps to what both accept: `ON CONFLICT … DO NOTHING` rather
 * than `INSERT OR IGNORE`, `CASE WHEN` rather than a boolean summed, quoted camelCase aliases
 * (PostgreSQL folds unquoted ones to lower case), an alias on every subquery in FROM, no rowid.
 */
import BetterSqlite3 from 'better-sqlite3';

export type SqlValue = string | number | bigint | null;
/** Positional values, or one object of named values (`@name` in the SQL). */
export type SqlParameters = readonly SqlValue[] | [Readonly<Record<string, SqlValue>>];

export interface SqlStatement {
  run(...parameters: SqlParameters): { changes: number };
  get(...parameters: SqlParameters): unknown;
  all(...parameters: SqlParameters): unknown[];
  iterate(...parameters: SqlParameters): IterableIterator<unknown>;
}

export type SqlEngine = 'sqlite' | 'postgres';

export interface SqlDatabase {
  readonly engine: SqlEngine;
  prepare(sql: string): SqlStatement;
  /** Runs statements without parameters (migrations). */
  exec(sql: string): void;
  /**
   * Wraps `fn` in a transaction; called inside another, a savepoint. A throw rolls back what
   * `fn` did and rethrows. On PostgreSQL the outermost transaction also holds the coordinators'
   * shared write lock, so transactions of several coordinator processes run one at a time, as
   * SQLite's do.
   */
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  /** Runs `fn` with every commit flushed to disk before it returns (SQLite: synchronous=FULL). */
  durably<R>(fn: () => R): R;
  /** 'ok' when the engine finds the database sound. */
  integrityCheck(): string;
  close(): void;
}

/** The embedded store: better-sqlite3 on one file, WAL, foreign keys on. */
export function openSqliteDatabase(file: string): SqlDatabase {
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return {
    engine: 'sqlite',
    prepare: (sql) => db.prepare(sql) as unknown as SqlStatement,
    exec(sql) {
      db.exec(sql);
    },
    transaction: (fn) => db.transaction(fn),
    durably(fn) {
      db.pragma('synchronous = FULL');
      try {
        return fn();
      } finally {
        db.pragma('synchronous = NORMAL');
      }
    },
    integrityCheck: () => String(db.pragma('integrity_check', { simple: true })),
    close() {
      db.close();
    },
  };
}
