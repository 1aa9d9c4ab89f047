/**
 * Runs the real coordinator (server/src/main.ts, exactly what `npm start` runs) as a child process
 * on a free port with its own data directory, for end-to-end tests.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OperatorClient } from '../packages/virtual/src/operator-client.ts';
import { spawnCoordinator } from '../server/src/spawn-coordinator.ts';

export interface Coordinator {
  readonly url: string;
  readonly dataDir: string;
  readonly heartbeatTimeoutMs: number;
  readonly output: () => string;
  /** The operator token the coordinator generated into its data directory. */
  readonly operatorToken: string;
  /** Calls the REST API with the operator token; throws with the reply on a non-2xx status. */
  readonly api: <T>(method: 'GET' | 'POST', url: string, body?: unknown) => Promise<T>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface CoordinatorOptions {
  readonly heartbeatIntervalMs?: number;
  readonly heartbeatTimeoutMs?: number;
  readonly dataDir?: string;
}

export async function startCoordinator(options: CoordinatorOptions = {}): Promise<Coordinator> {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tabswarm-e2e-'));
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 500;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 4_000;
  const spawned = await spawnCoordinator({
    dataDir,
    args: [
      '--heartbeat-interval-ms',
      String(heartbeatIntervalMs),
      '--heartbeat-timeout-ms',
      String(heartbeatTimeoutMs),
    ],
  });
  const { url, child } = spawned;

  const operatorToken = fs.readFileSync(path.join(dataDir, 'operator-token'), 'utf8').trim();
  const operator = new OperatorClient(url, operatorToken);
  return {
    url,
    dataDir,
    heartbeatTimeoutMs,
    output: () => spawned.output(),
    operatorToken,
    api: (method, route, body) => operator.api(method, route, body),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await spawned.exited;
    },
  };
}
