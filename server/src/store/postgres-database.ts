/**
 * PostgreSQL behind the store's SqlDatabase: one libpq connection, used synchronously, so that
 * several coordinator processes share one job state with the scheduler's transactions unchanged.
 * A statement blocks the event loop for one round trip to the server (about 50 µs to a local
 * one, measured here), as a better-sqlite3 statement blocks it for its disk access.
 *
 * What differs from SQLite is translated here, once per statement: `?` and `@name` parameters
 * become `$n`; the migrations' types become PostgreSQL's (INTEGER holds millisecond timestamps:
 * BIGINT; REAL: DOUBLE PRECISION; no STRICT); numbers come back as numbers (BIGINT, NUMERIC and
 * the sums and counts that return them included), as better-sqlite3 returns them.
 */
import { createRequire } from 'node:module';
import type Libpq from 'libpq';
import type { SqlDatabase, SqlParameters, SqlStatement, SqlValue } from './sql-database.ts';

/** pg_advisory_xact_lock key held by every outermost transaction: one writer at a time. */
const WRITE_LOCK_KEY = 0x74616273;

/** OIDs of the types returned as numbers: int2, int4, oid, int8, float4, float8, numeric. */
const NUMERIC_TYPES = new Set([21, 23, 26, 20, 700, 701, 1700]);
const BOOL_TYPE = 16;

/**
 * Closed connections, kept reachable for a moment: libpq's binding closes its poll handle
 * asynchronously (uv_close) but lets the garbage collector free the handle's memory at once,
 * and a collection before libuv finishes the close aborts the process (uv__finish_close).
 */
const closing = new Set<unknown>();
function finish(pq: Libpq): void {
  pq.finish();
  closing.add(pq);
  setTimeout(() => closing.delete(pq), 1_000).unref();
}

export class PostgresError extends Error {
  constructor(
    message: string,
    /** SQLSTATE, e.g. 23505 for a unique violation; '' for a connection failure. */
    readonly sqlState: string,
  ) {
    super(message);
    this.name = 'PostgresError';
  }
}

/** The statement with `$n` parameters, and the names bound to them (empty for positional `?`). */
export interface TranslatedStatement {
  readonly text: string;
  readonly count: number;
  readonly names: readonly string[];
}

/**
 * Rewrites `?` (positional) or `@name` (named; one name may repeat) as `$1…$n`, outside string
 * literals, quoted identifiers and comments.
 */
export function translateParameters(sql: string): TranslatedStatement {
  const names: string[] = [];
  let positional = 0;
  let out = '';
  for (let i = 0; i < sql.length;) {
    const c = sql[i] as string;
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end < 0 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '?') {
      positional += 1;
      out += `$${positional}`;
      i += 1;
    } else if (c === '@' && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      const name = /^[A-Za-z_]\w*/.exec(sql.slice(i + 1))?.[0] as string;
      let index = names.indexOf(name);
      if (index < 0) index = names.push(name) - 1;
      out += `$${index + 1}`;
      i += 1 + name.length;
    } else {
      out += c;
      i += 1;
    }
  }
  if (positional > 0 && names.length > 0)
    throw new Error('a statement takes either ? or @name parameters, not both');
  return { text: out, count: positional + names.length, names };
}

/** The migrations' SQLite column types and table options, as PostgreSQL spells them. */
export function translateDdl(sql: string): string {
  return sql
    .replace(/\)\s*STRICT\s*;/g, ');')
    .replace(/\bINTEGER\b/g, 'BIGINT')
    .replace(/\bREAL\b/g, 'DOUBLE PRECISION');
}

function encode(value: SqlValue | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  throw new TypeError(`a SQL parameter cannot be a ${typeof value}`);
}

function bind(statement: TranslatedStatement, parameters: SqlParameters): (string | null)[] {
  if (statement.names.length === 0) {
    const values = parameters as readonly SqlValue[];
    if (values.length !== statement.count)
      throw new RangeError(`the statement takes ${statement.count} parameters, ${values.length} given`);
    return values.map(encode);
  }
  const named = parameters[0];
  if (parameters.length !== 1 || named === null || typeof named !== 'object')
    throw new TypeError('the statement takes one object of named parameters');
  return statement.names.map((name) => {
    if (!(name in named)) throw new RangeError(`missing named parameter "${name}"`);
    return encode((named as Record<string, SqlValue>)[name]);
  });
}

function loadLibpq(): typeof Libpq {
  try {
    return createRequire(import.meta.url)('libpq') as typeof Libpq;
  } catch (error) {
    throw new PostgresError(
      'PostgreSQL needs the libpq module, which did not build when the dependencies were installed ' +
        `(${(error as Error).message.split('\n')[0]}). Install Debian's libpq-dev ` +
        '(apt-get install libpq-dev) and run npm ci again.',
      '',
    );
  }
}

/** A connection URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^(\w+:\/\/[^:/@]+):[^@/]*@/, '$1:***@');
}

export function openPostgresDatabase(url: string): SqlDatabase {
  const Pq = loadLibpq();
  const pq = new Pq();
  try {
    pq.connectSync(url);
  } catch (error) {
    finish(pq);
    throw new PostgresError(
      `cannot connect to PostgreSQL at ${redactUrl(url)}: ${(error as Error).message.trim()}`,
      '',
    );
  }

  const check = (): void => {
    const status = pq.resultStatus();
    if (status === 'PGRES_COMMAND_OK' || status === 'PGRES_TUPLES_OK') return;
    const fields = pq.resultErrorFields() as { sqlState?: string } | undefined;
    const message = (pq.resultErrorMessage() || pq.errorMessage()).trim();
    throw new PostgresError(message || status, fields?.sqlState ?? '');
  };
  const rows = (): Record<string, unknown>[] => {
    const fields = Array.from({ length: pq.nfields() }, (_, c) => ({
      name: pq.fname(c),
      type: pq.ftype(c),
    }));
    return Array.from({ length: pq.ntuples() }, (_, r) => {
      const row: Record<string, unknown> = {};
      fields.forEach(({ name, type }, c) => {
        if (pq.getisnull(r, c)) row[name] = null;
        else {
          const text = pq.getvalue(r, c);
          row[name] = NUMERIC_TYPES.has(type) ? Number(text) : type === BOOL_TYPE ? text === 't' : text;
        }
      });
      return row;
    });
  };
  const exec = (sql: string): void => {
    pq.exec(sql);
    check();
  };
  // Notices (e.g. "schema … does not exist, skipping") would go to stderr.
  exec('SET client_min_messages = warning');
  // As the SQLite store's synchronous=NORMAL: a commit does not wait for the disk, except inside
  // durably() — completions, acknowledged only once flushed. A server crash may lose the last
  // commits that did not wait (leases, heartbeats: re-granted, resent), never a completion.
  exec('SET synchronous_commit = off');

  /** Server-side statement names by SQL text: a statement prepared once serves every later prepare. */
  const preparedByText = new Map<string, string>();
  let depth = 0;
  let closed = false;

  const database: SqlDatabase = {
    engine: 'postgres',
    prepare(sql) {
      const statement = translateParameters(sql);
      let name = preparedByText.get(statement.text);
      if (name === undefined) {
        name = `s${preparedByText.size}`;
        pq.prepare(name, statement.text, statement.count);
        check();
        preparedByText.set(statement.text, name);
      }
      const statementName = name;
      const execute = (parameters: SqlParameters) => {
        pq.execPrepared(statementName, bind(statement, parameters) as string[]);
        check();
      };
      const all = (...parameters: SqlParameters) => {
        execute(parameters);
        return rows();
      };
      const prepared_: SqlStatement = {
        run(...parameters) {
          execute(parameters);
          return { changes: Number(pq.cmdTuples() || 0) };
        },
        get: (...parameters) => all(...parameters)[0],
        all,
        iterate: (...parameters) => all(...parameters)[Symbol.iterator](),
      };
      return prepared_;
    },
    exec(sql) {
      exec(translateDdl(sql));
    },
    transaction(fn) {
      return (...args) => {
        const level = depth;
        if (level === 0) {
          try {
            exec(`BEGIN; SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
          } catch (error) {
            exec('ROLLBACK');
            throw error;
          }
        } else exec(`SAVEPOINT tabswarm_${level}`);
        depth = level + 1;
        let result;
        try {
          result = fn(...args);
        } catch (error) {
          depth = level;
          if (level === 0) exec('ROLLBACK');
          else exec(`ROLLBACK TO SAVEPOINT tabswarm_${level}; RELEASE SAVEPOINT tabswarm_${level}`);
          throw error;
        }
        depth = level;
        exec(level === 0 ? 'COMMIT' : `RELEASE SAVEPOINT tabswarm_${level}`);
        return result;
      };
    },
    durably(fn) {
      exec('SET synchronous_commit = on');
      try {
        return fn();
      } finally {
        exec('SET synchronous_commit = off');
      }
    },
    integrityCheck() {
      exec('SELECT 1');
      return 'ok';
    },
    close() {
      if (closed) return;
      closed = true;
      finish(pq);
    },
  };
  return database;
}
