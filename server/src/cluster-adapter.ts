/**
 * Several coordinators, one swarm: socket.io's PostgreSQL adapter carries every broadcast and
 * room emit between coordinator processes (LISTEN/NOTIFY; payloads too big for a notification go
 * through its attachments table), so a dashboard on one sees what happens on all, and a message
 * for a volunteer reaches it on whichever coordinator holds its socket.
 */
import { createAdapter } from '@socket.io/postgres-adapter';
import pg from 'pg';
import type { Server as SocketServer } from 'socket.io';
import type { Logger } from './logger.ts';
import { PostgresError, redactUrl } from './store/postgres-database.ts';

export interface ClusterAdapter {
  attach(io: SocketServer): void;
  /** Creates the adapter's table; rejects with a PostgresError when the server cannot be reached. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

const ATTACHMENTS_TABLE = 'socket_io_attachments';

export function createClusterAdapter(url: string, log: Logger): ClusterAdapter {
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 10_000 });
  // An idle client losing its server must not end the process; the adapter reconnects.
  pool.on('error', (err) => log.warn({ err }, 'socket.io adapter: PostgreSQL connection lost'));
  return {
    attach(io) {
      io.adapter(
        createAdapter(pool, {
          tableName: ATTACHMENTS_TABLE,
          errorHandler: (err) => log.warn({ err }, 'socket.io adapter error'),
        }),
      );
    },
    async ready() {
      try {
        await pool.query(`CREATE TABLE IF NOT EXISTS ${ATTACHMENTS_TABLE} (
          id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)`);
      } catch (error) {
        // Two coordinators starting together: the other one created it.
        const code = (error as { code?: string }).code;
        if (code === '23505' || code === '42P07') return;
        throw new PostgresError(
          `cannot reach the socket.io adapter's PostgreSQL at ${redactUrl(url)}: ${(error as Error).message}`,
          (error as { code?: string }).code ?? '',
        );
      }
    },
    async close() {
      await pool.end();
    },
  };
}
