/**
 * The coordinator a simulation runs against: one started here (server/src/main.ts, what `npm start`
 * runs, as a child process on a fresh data directory) that can be SIGKILLed and started again on
 * the same directory and port, or one already running at a URL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OperatorClient } from '@tabswarm/virtual';
import { ONE_ADDRESS_RATE_LIMITS } from '../../../server/src/rate-limit.ts';
import { spawnCoordinator, type SpawnedCoordinator } from '../../../server/src/spawn-coordinator.ts';

export interface CoordinatorProcess {
  readonly url: string;
  /** The data directory of a coordinator started here; null for one at --url. */
  readonly dataDir: string | null;
  readonly startedHere: boolean;
  readonly operator: OperatorClient;
  /** What the coordinator printed (pino JSON lines), across restarts; '' for one at --url. */
  output(): string;
  /** SIGKILL, then start again on the same data directory and port (volunteers reconnect there). */
  restart(): Promise<void>;
  /** Stops it (SIGTERM by default); a coordinator at --url is left alone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface CoordinatorProcessOptions {
  readonly dataDir?: string;
  readonly heartbeatIntervalMs?: number;
  readonly heartbeatTimeoutMs?: number;
  /** More flags for main.ts. */
  readonly args?: readonly string[];
}

const alive = (spawned: SpawnedCoordinator): boolean =>
  spawned.child.exitCode === null && spawned.child.signalCode === null;

export async function startCoordinatorProcess(
  options: CoordinatorProcessOptions = {},
): Promise<CoordinatorProcess> {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tabswarm-sim-'));
  const args = [
    '--heartbeat-interval-ms',
    String(options.heartbeatIntervalMs ?? 1_000),
    '--heartbeat-timeout-ms',
    String(options.heartbeatTimeoutMs ?? 10_000),
    '--rate-limits',
    ONE_ADDRESS_RATE_LIMITS,
    ...(options.args ?? []),
  ];
  let spawned = await spawnCoordinator({ dataDir, args });
  let earlier = '';
  const url = spawned.url;
  const port = new URL(url).port;
  const token = fs.readFileSync(path.join(dataDir, 'operator-token'), 'utf8').trim();
  return {
    url,
    dataDir,
    startedHere: true,
    operator: new OperatorClient(url, token),
    output: () => earlier + spawned.output(),
    async restart() {
      if (alive(spawned)) spawned.child.kill('SIGKILL');
      await spawned.exited;
      earlier += spawned.output();
      // The last --port wins: the same port, so volunteers find it again where they left it.
      spawned = await spawnCoordinator({ dataDir, args: [...args, '--port', port] });
    },
    async stop(signal = 'SIGTERM') {
      if (alive(spawned)) spawned.child.kill(signal);
      await spawned.exited;
    },
  };
}

export function externalCoordinator(url: string, token: string | null): CoordinatorProcess {
  const origin = url.replace(/\/+$/, '');
  return {
    url: origin,
    dataDir: null,
    startedHere: false,
    operator: new OperatorClient(origin, token ?? ''),
    output: () => '',
    restart: () =>
      Promise.reject(new Error('a coordinator at --url was not started here and cannot be restarted')),
    stop: () => Promise.resolve(),
  };
}
