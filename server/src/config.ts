/**
 * The coordinator's configuration: defaults, merged once from environment and command-line
 * flags, then passed down read-only. Nothing below main reads process.env.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IceServer } from '@tabswarm/protocol';
import { OriginListError, parseOriginList } from './origin-policy.ts';
import { DEFAULT_RATE_LIMITS, parseRateLimits, type RateLimits } from './rate-limit.ts';
import { DEFAULT_SESSION_TTL_MS } from './session-tokens.ts';

export interface ServerConfig {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /**
   * A PostgreSQL URL that several coordinators share; absent: the embedded SQLite file in
   * dataDir. Checkpoint frames and datasets stay files under dataDir either way.
   */
  readonly storeUrl: string | undefined;
  /**
   * The PostgreSQL server whose LISTEN/NOTIFY carries socket.io events between coordinators (the
   * socket.io postgres adapter); undefined: none, events stay in this process. Defaults to the
   * store's server when the store is PostgreSQL.
   */
  readonly adapterUrl: string | undefined;
  /** Built dashboard and volunteer pages; absent folders are reported on their routes. */
  readonly dashboardDir: string;
  readonly volunteerDir: string;
  readonly heartbeatIntervalMs: number;
  /** A volunteer not heard from for this long is marked gone. */
  readonly heartbeatTimeoutMs: number;
  readonly iceServers: readonly IceServer[];
  /** Largest socket.io message accepted; bigger ones close that client's connection. */
  readonly maxMessageBytes: number;
  readonly logLevel: string;
  /** The operator token; when absent, one is generated into the data directory on first start. */
  readonly operatorToken: string | undefined;
  /** How often overdue leases are expired. */
  readonly leaseSweepMs: number;
  /** Largest dataset upload accepted, in bytes. */
  readonly datasetMaxUploadBytes: number;
  /** Web origins besides the coordinator's own whose pages may open its sockets (origin-policy.ts). */
  readonly allowedOrigins: readonly string[];
  /** Per-address and per-session rate limits (rate-limit.ts); null: off. */
  readonly rateLimits: RateLimits | null;
  /** How long a volunteer's session token is good for; heartbeats renew it past half (session-tokens.ts). */
  readonly sessionTtlMs: number;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const DEFAULT_CONFIG: ServerConfig = {
  port: 8080,
  host: '0.0.0.0',
  dataDir: path.join(repoRoot, 'data'),
  storeUrl: undefined,
  adapterUrl: undefined,
  dashboardDir: path.join(repoRoot, 'apps', 'dashboard', 'dist'),
  volunteerDir: path.join(repoRoot, 'apps', 'volunteer', 'dist'),
  heartbeatIntervalMs: 2_000,
  heartbeatTimeoutMs: 10_000,
  iceServers: [],
  maxMessageBytes: 256 * 1024,
  logLevel: 'info',
  operatorToken: undefined,
  leaseSweepMs: 1_000,
  datasetMaxUploadBytes: 256 * 1024 * 1024,
  allowedOrigins: [],
  rateLimits: DEFAULT_RATE_LIMITS,
  sessionTtlMs: DEFAULT_SESSION_TTL_MS,
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Flag names and the environment variables they override, in precedence order flag > env > default. */
const OPTIONS = {
  port: { flag: '--port', env: 'PORT' },
  host: { flag: '--host', env: 'HOST' },
  dataDir: { flag: '--data-dir', env: 'TABSWARM_DATA_DIR' },
  store: { flag: '--store', env: 'TABSWARM_STORE' },
  adapter: { flag: '--adapter', env: 'TABSWARM_ADAPTER' },
  heartbeatIntervalMs: { flag: '--heartbeat-interval-ms', env: 'TABSWARM_HEARTBEAT_INTERVAL_MS' },
  heartbeatTimeoutMs: { flag: '--heartbeat-timeout-ms', env: 'TABSWARM_HEARTBEAT_TIMEOUT_MS' },
  iceServers: { flag: '--ice-servers', env: 'TABSWARM_ICE_SERVERS' },
  logLevel: { flag: '--log-level', env: 'LOG_LEVEL' },
  operatorToken: { flag: '--operator-token', env: 'TABSWARM_OPERATOR_TOKEN' },
  datasetMaxUploadMb: { flag: '--dataset-max-upload-mb', env: 'TABSWARM_DATASET_MAX_UPLOAD_MB' },
  allowedOrigins: { flag: '--allowed-origins', env: 'TABSWARM_ALLOWED_ORIGINS' },
  rateLimits: { flag: '--rate-limits', env: 'TABSWARM_RATE_LIMITS' },
  sessionTtlS: { flag: '--session-ttl-s', env: 'TABSWARM_SESSION_TTL_S' },
} as const;

export const CONFIG_HELP = `Options (flag, or environment variable):
  --port N                   PORT                             HTTP port (default 8080; 0 picks a free one)
  --host ADDR                HOST                             address to bind (default 0.0.0.0)
  --data-dir DIR             TABSWARM_DATA_DIR                SQLite store and files (default ./data)
  --store sqlite|URL         TABSWARM_STORE                   where jobs, leases and volunteers are kept: sqlite (the
                                                              embedded file in the data dir, default) or a
                                                              postgres://user:password@host:port/database URL that
                                                              several coordinators share
  --adapter none|postgres|URL TABSWARM_ADAPTER                how coordinators pass socket.io events to each other:
                                                              postgres (LISTEN/NOTIFY on the store's server, the
                                                              default with a postgres store), a postgres:// URL of
                                                              another server, or none
  --heartbeat-interval-ms N  TABSWARM_HEARTBEAT_INTERVAL_MS   how often volunteers heartbeat (default 2000)
  --heartbeat-timeout-ms N   TABSWARM_HEARTBEAT_TIMEOUT_MS    silence before a volunteer is gone (default 10000)
  --ice-servers JSON         TABSWARM_ICE_SERVERS             STUN/TURN servers for WebRTC, as a JSON array
  --log-level LEVEL          LOG_LEVEL                        pino level (default info)
  --operator-token TOKEN     TABSWARM_OPERATOR_TOKEN          token for writes (default: generated into the data dir)
  --dataset-max-upload-mb N  TABSWARM_DATASET_MAX_UPLOAD_MB   largest dataset upload in MiB (default 256)
  --allowed-origins LIST     TABSWARM_ALLOWED_ORIGINS         other web origins whose pages may connect, comma-separated
                                                              (default: none, only the coordinator's own pages)
  --rate-limits off|JSON     TABSWARM_RATE_LIMITS             per-address and per-session rate limits: off, or JSON
                                                              overriding defaults, e.g. {"connectsPerIp":{"perSecond":5,"burst":100}}
  --session-ttl-s N          TABSWARM_SESSION_TTL_S           lifetime of volunteers' session tokens in seconds (default 3600;
                                                              heartbeats renew them)`;

function parseFlags(argv: readonly string[]): Map<string, string> {
  const known = new Set<string>(Object.values(OPTIONS).map((o) => o.flag));
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [name, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    if (!known.has(name)) throw new ConfigError(`unknown option ${name}\n${CONFIG_HELP}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`option ${name} needs a value`);
    out.set(name, value);
  }
  return out;
}

function integer(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return n;
}

function iceServers(raw: string): IceServer[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('ice servers must be a JSON array like [{"urls":"stun:stun.example.org"}]');
  }
  if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === 'object' && s !== null && 'urls' in s)) {
    throw new ConfigError('ice servers must be a JSON array of objects with "urls"');
  }
  return parsed as IceServer[];
}

function postgresUrl(what: string, alternatives: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${what} must be ${alternatives} or a postgres:// URL, got "${raw}"`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new ConfigError(
      `${what} must be ${alternatives} or a postgres:// URL; ${url.protocol.slice(0, -1)} is not supported`,
    );
  if (url.hostname === '' && !url.searchParams.has('host'))
    throw new ConfigError(`${what} URL needs a host, e.g. postgres://tabswarm@127.0.0.1:5432/tabswarm`);
  return raw;
}

const storeUrl = (raw: string): string | undefined =>
  raw === 'sqlite' ? undefined : postgresUrl('store', '"sqlite"', raw);

function adapterUrl(raw: string, store: string | undefined): string | undefined {
  if (raw === 'none') return undefined;
  if (raw !== 'postgres') return postgresUrl('adapter', '"none", "postgres"', raw);
  if (store === undefined)
    throw new ConfigError('adapter "postgres" uses the store\'s server: give --store a postgres:// URL too');
  return store;
}

function token(raw: string): string {
  if (!/^[\x21-\x7e]{16,256}$/.test(raw)) {
    throw new ConfigError('operator token must be 16–256 printable characters without spaces');
  }
  return raw;
}

function allowedOrigins(raw: string): string[] {
  try {
    return parseOriginList(raw);
  } catch (error) {
    if (error instanceof OriginListError) throw new ConfigError(`allowed origins: ${error.message}`);
    throw error;
  }
}

function rateLimits(raw: string): RateLimits | null {
  const parsed = parseRateLimits(raw);
  if (!parsed.ok) throw new ConfigError(`rate limits: ${parsed.message}`);
  return parsed.limits;
}

/** Builds the config from flags and environment. Throws ConfigError with a readable message. */
export function resolveConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  base: ServerConfig = DEFAULT_CONFIG,
): ServerConfig {
  const flags = parseFlags(argv);
  const pick = (key: keyof typeof OPTIONS): string | undefined => {
    const value = flags.get(OPTIONS[key].flag) ?? env[OPTIONS[key].env];
    return value === '' ? undefined : value;
  };
  const port = pick('port');
  const host = pick('host');
  const dataDir = pick('dataDir');
  const store = pick('store');
  const adapter = pick('adapter');
  const interval = pick('heartbeatIntervalMs');
  const timeout = pick('heartbeatTimeoutMs');
  const ice = pick('iceServers');
  const logLevel = pick('logLevel');
  const operatorToken = pick('operatorToken');
  const maxUpload = pick('datasetMaxUploadMb');
  const origins = pick('allowedOrigins');
  const limits = pick('rateLimits');
  const sessionTtl = pick('sessionTtlS');
  const config: ServerConfig = {
    ...base,
    ...(port !== undefined && { port: integer('port', port, 0, 65535) }),
    ...(host !== undefined && { host }),
    ...(dataDir !== undefined && { dataDir: path.resolve(dataDir) }),
    ...(store !== undefined && { storeUrl: storeUrl(store) }),
    ...(interval !== undefined && {
      heartbeatIntervalMs: integer('heartbeat interval', interval, 100, 600_000),
    }),
    ...(timeout !== undefined && {
      heartbeatTimeoutMs: integer('heartbeat timeout', timeout, 200, 3_600_000),
    }),
    ...(ice !== undefined && { iceServers: iceServers(ice) }),
    ...(logLevel !== undefined && { logLevel }),
    ...(operatorToken !== undefined && { operatorToken: token(operatorToken) }),
    ...(maxUpload !== undefined && {
      datasetMaxUploadBytes: integer('dataset upload limit (MiB)', maxUpload, 1, 16_384) * 1024 * 1024,
    }),
    ...(origins !== undefined && { allowedOrigins: allowedOrigins(origins) }),
    ...(limits !== undefined && { rateLimits: rateLimits(limits) }),
    ...(sessionTtl !== undefined && {
      sessionTtlMs: integer('session token lifetime (s)', sessionTtl, 1, 7 * 86_400) * 1000,
    }),
  };
  // A postgres store shares its server with the adapter unless told otherwise.
  const withAdapter: ServerConfig = {
    ...config,
    adapterUrl:
      adapter !== undefined
        ? adapterUrl(adapter, config.storeUrl)
        : store !== undefined
          ? config.storeUrl
          : base.adapterUrl,
  };
  if (config.heartbeatTimeoutMs <= config.heartbeatIntervalMs) {
    throw new ConfigError('heartbeat timeout must be longer than the heartbeat interval');
  }
  if (config.sessionTtlMs < 4 * config.heartbeatIntervalMs) {
    // Renewed at half its life by a heartbeat: at least two must fall in that half.
    throw new ConfigError('session token lifetime must be at least 4 heartbeat intervals');
  }
  return withAdapter;
}
