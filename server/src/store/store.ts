/**
 * The one module that opens the database. Everything durable goes through here: the embedded
 * SQLite file by default, or a PostgreSQL server that several coordinators share (storeUrl).
 */
import fs from 'node:fs';
import path from 'node:path';
import type {
  Capabilities,
  Health,
  Heartbeat,
  NodeInfo,
  NodeStatus,
  SelfTestReport,
} from '@tabswarm/protocol';
import { loadMigrations, migrate, MIGRATIONS_DIR } from './migrations.ts';
import { openPostgresDatabase, redactUrl } from './postgres-database.ts';
import { openSqliteDatabase, type SqlDatabase } from './sql-database.ts';

export interface StoredNode extends NodeInfo {
  readonly secretHash: string;
}

interface NodeRow {
  id: string;
  secret_hash: string;
  status: NodeStatus;
  state: Heartbeat['state'];
  capabilities: string;
  self_test: string | null;
  health: string | null;
  joined_at: number;
  last_seen_at: number;
  connected: number;
}

const fromRow = (r: NodeRow): StoredNode => ({
  id: r.id,
  secretHash: r.secret_hash,
  status: r.status,
  state: r.state,
  capabilities: JSON.parse(r.capabilities) as Capabilities,
  selfTest: r.self_test === null ? null : (JSON.parse(r.self_test) as SelfTestReport),
  health: r.health === null ? null : (JSON.parse(r.health) as Health),
  joinedAt: r.joined_at,
  lastSeenAt: r.last_seen_at,
  connected: r.connected === 1,
});

export interface Store {
  /** The SQLite file, or the PostgreSQL URL without its password. */
  readonly path: string;
  /** For the store's repositories and the scheduler: the SQL they run works on either engine. */
  readonly db: SqlDatabase;
  /**
   * Whether other coordinator processes may share this database (PostgreSQL). A shared store
   * is not this process's alone: its active leases and connected volunteers may be another's.
   */
  readonly shared: boolean;
  saveNode(node: StoredNode): void;
  getNode(id: string): StoredNode | undefined;
  listNodes(): StoredNode[];
  /** Forgets these nodes (departed volunteers past their retention); returns how many were deleted. */
  deleteNodes(ids: readonly string[]): number;
  /** Marks every node disconnected: after a restart no socket is open yet. */
  markAllDisconnected(): number;
  /**
   * Marks gone the active nodes last seen before `cutoff`, whoever holds them (on a shared store,
   * those of a coordinator that died); returns their ids.
   */
  markSilentGone(cutoff: number): string[];
  /**
   * Forgets departed (gone, disconnected) nodes last seen before `cutoff`, then the longest silent
   * beyond `cap` of them; returns their ids. On a shared store, for the nodes no process holds.
   */
  pruneDeparted(cutoff: number, cap: number): string[];
  integrityCheck(): string;
  close(): void;
}

export interface StoreOptions {
  /** A postgres:// or postgresql:// URL; the embedded SQLite file in dataDir when absent. */
  readonly url?: string | undefined;
  /**
   * A database already open (on `url`, which then only names it), used instead of opening one:
   * the tests' stores share one connection. Closing the store closes it.
   */
  readonly database?: SqlDatabase;
  readonly migrationsDir?: string;
}

/** Whether a --store value names a PostgreSQL server. */
export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//.test(url);

export function openStore(dataDir: string, options: StoreOptions = {}): Store {
  fs.mkdirSync(dataDir, { recursive: true });
  const { url, migrationsDir = MIGRATIONS_DIR } = options;
  const file = url === undefined ? path.join(dataDir, 'tabswarm.sqlite') : redactUrl(url);
  const db = options.database ?? (url === undefined ? openSqliteDatabase(file) : openPostgresDatabase(url));
  try {
    migrate(db, loadMigrations(migrationsDir));
  } catch (error) {
    db.close();
    throw error;
  }

  const upsert = db.prepare(`INSERT INTO nodes
      (id, secret_hash, status, state, capabilities, self_test, health, joined_at, last_seen_at, connected)
    VALUES (@id, @secret_hash, @status, @state, @capabilities, @self_test, @health, @joined_at, @last_seen_at, @connected)
    ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, status = excluded.status,
      state = excluded.state, capabilities = excluded.capabilities, self_test = excluded.self_test,
      health = excluded.health,
      joined_at = excluded.joined_at, last_seen_at = excluded.last_seen_at, connected = excluded.connected`);
  const byId = db.prepare('SELECT * FROM nodes WHERE id = ?');
  const all = db.prepare('SELECT * FROM nodes ORDER BY joined_at, id');
  const disconnectAll = db.prepare('UPDATE nodes SET connected = 0 WHERE connected = 1');
  const silentGone = db.prepare(`UPDATE nodes SET status = 'gone', connected = 0
    WHERE status = 'active' AND last_seen_at < ? RETURNING id`);
  const departedBefore = db.prepare(`DELETE FROM nodes
    WHERE status = 'gone' AND connected = 0 AND last_seen_at < ? RETURNING id`);
  const departedBeyondCap = db.prepare(`SELECT last_seen_at AS t FROM nodes
    WHERE status = 'gone' AND connected = 0 ORDER BY last_seen_at DESC LIMIT 1 OFFSET ?`);
  const remove = db.prepare('DELETE FROM nodes WHERE id = ?');
  const removeAll = db.transaction((ids: readonly string[]): number =>
    ids.reduce((n, id) => n + remove.run(id).changes, 0),
  );

  return {
    path: file,
    db,
    shared: db.engine === 'postgres',
    saveNode(node) {
      upsert.run({
        id: node.id,
        secret_hash: node.secretHash,
        status: node.status,
        state: node.state,
        capabilities: JSON.stringify(node.capabilities),
        self_test: node.selfTest === null ? null : JSON.stringify(node.selfTest),
        health: node.health === null ? null : JSON.stringify(node.health),
        joined_at: node.joinedAt,
        last_seen_at: node.lastSeenAt,
        connected: node.connected ? 1 : 0,
      });
    },
    getNode(id) {
      const row = byId.get(id) as NodeRow | undefined;
      return row && fromRow(row);
    },
    listNodes() {
      return (all.all() as NodeRow[]).map(fromRow);
    },
    deleteNodes(ids) {
      return ids.length === 0 ? 0 : removeAll(ids);
    },
    markAllDisconnected() {
      return disconnectAll.run().changes;
    },
    markSilentGone(cutoff) {
      return (silentGone.all(cutoff) as { id: string }[]).map((r) => r.id);
    },
    pruneDeparted(cutoff, cap) {
      const ids = (rows: unknown[]) => (rows as { id: string }[]).map((r) => r.id);
      const expired = ids(departedBefore.all(cutoff));
      const boundary = departedBeyondCap.get(Math.max(0, cap)) as { t: number } | undefined;
      return boundary === undefined ? expired : [...expired, ...ids(departedBefore.all(boundary.t + 1))];
    },
    integrityCheck() {
      return db.integrityCheck();
    },
    close() {
      db.close();
    },
  };
}
