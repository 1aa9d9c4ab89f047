/**
 * Runs the real coordinator (server/src/main.ts, exactly what `npm start` runs) as a child process
 * on a free port with its own data directory, for end-to-end tests: the simulation harness's
 * coordinator process, with the operator's REST calls and the token it generated.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startCoordinatorProcess } from '../packages/simulate/src/coordinator-process.ts';

export interface Coordinator {
  readonly url: string;
  readonly dataDir: string;
  readonly heartbeatTimeoutMs: number;
  readonly output: () => string;
  /** The operator token the coordinator generated into its data directory. */
  readonly operatorToken: string;
  /** Calls the REST API with the operator token; throws with the reply on a non-2xx status. */
  readonly api: <T>(method: 'GET' | 'POST', url: string, body?: unknown) => Promise<T>;
  /** SIGKILL, then start again on the same data directory and port. */
  restart(): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface CoordinatorOptions {
  readonly heartbeatIntervalMs?: number;
  readonly heartbeatTimeoutMs?: number;
  readonly dataDir?: string;
  /** Origins of pages served elsewhere (a test page's Vite server) that may open its sockets. */
  readonly allowedOrigins?: readonly string[];
}

export async function startCoordinator(options: CoordinatorOptions = {}): Promise<Coordinator> {
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 4_000;
  const child = await startCoordinatorProcess({
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 500,
    heartbeatTimeoutMs,
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.allowedOrigins !== undefined && {
      args: ['--allowed-origins', options.allowedOrigins.join(',')],
    }),
  });
  const dataDir = child.dataDir as string;
  return {
    url: child.url,
    dataDir,
    heartbeatTimeoutMs,
    output: () => child.output(),
    operatorToken: fs.readFileSync(path.join(dataDir, 'operator-token'), 'utf8').trim(),
    api: (method, route, body) => child.operator.api(method, route, body),
    restart: () => child.restart(),
    stop: (signal) => child.stop(signal),
  };
}
