/**
 * A throwaway PostgreSQL server for the tests and the benchmark: initdb in a temporary directory,
 * started on a free loopback port, removed when stopped. It uses the machine's PostgreSQL
 * binaries (Debian's postgresql package; `npm test` installs it when missing). PostgreSQL refuses
 * to run as root, so as root it runs as the package's `postgres` user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { openPostgresDatabase } from './postgres-database.ts';

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust authentication, loopback only). */
  readonly url: string;
  /** The same server through its Unix socket: about half a TCP round trip's latency. */
  readonly socketUrl: string;
  readonly port: number;
  stop(): void;
}

/** The directory holding initdb and pg_ctl: PATH first, then Debian's versioned directories. */
export function findPostgresBin(): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir !== '' && fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl')))
      return dir;
  }
  const debian = '/usr/lib/postgresql';
  if (!fs.existsSync(debian)) return null;
  const versions = fs
    .readdirSync(debian)
    .filter((v) => fs.existsSync(path.join(debian, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? null : path.join(debian, versions[0], 'bin');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

export async function startPostgres(
  options: {
    /** Settings passed to the server (-c name=value). */
    readonly settings?: Readonly<Record<string, string>>;
  } = {},
): Promise<PostgresServer> {
  const bin = findPostgresBin();
  if (bin === null)
    throw new Error(
      'PostgreSQL is not installed (no initdb/pg_ctl on PATH or under /usr/lib/postgresql). ' +
        'Install it with: sudo apt-get install -y postgresql',
    );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tabswarm-pg-'));
  const data = path.join(dir, 'data');
  const asOwner = (command: string, args: readonly string[]): void => {
    const full = path.join(bin, command);
    const [file, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', full, ...args]] : [full, [...args]];
    const result = spawnSync(file, argv, { encoding: 'utf8' });
    if (result.status !== 0)
      throw new Error(`${command} failed: ${(result.error?.message ?? result.stderr ?? '').trim()}`);
  };
  if (isRoot()) execFileSync('chown', ['postgres', dir]);
  asOwner('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const settings = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dir,
    max_connections: '300',
    ...options.settings,
  };
  const serverArgs = Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
  asOwner('pg_ctl', [
    '-D',
    data,
    '-l',
    path.join(dir, 'server.log'),
    '-w',
    '-o',
    `-p ${port} ${serverArgs}`,
    'start',
  ]);
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    socketUrl: `postgres://postgres@localhost/postgres?host=${encodeURIComponent(dir)}&port=${port}`,
    port,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        asOwner('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * A URL for a fresh, empty schema on the server: each test's store starts empty without the cost
 * of a database per test. The schema is created here; libpq's `options` parameter selects it.
 */
export function schemaUrl(serverUrl: string, schema: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  const url = new URL(serverUrl);
  url.searchParams.set('options', `-csearch_path=${schema}`);
  return url.toString();
}

/** Creates the schema (empty) and returns the URL of a store in it. */
export function freshSchema(serverUrl: string, schema: string): string {
  const url = schemaUrl(serverUrl, schema);
  const admin = openPostgresDatabase(serverUrl);
  try {
    admin.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  } finally {
    admin.close();
  }
  return url;
}
