/**
 * Runs the real coordinator (server/src/main.ts, exactly what `npm start` runs) as a child process
 * on a free port with its own data directory, for end-to-end tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Coordinator {
  readonly url: string;
  readonly dataDir: string;
  readonly heartbeatTimeoutMs: number;
  readonly output: () => string;
  /** The operator token the coordinator generated into its data directory. */
  readonly operatorToken: string;
  /** Calls the REST API with the operator token; throws with the reply on a non-2xx status. */
  api<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface CoordinatorOptions {
  readonly heartbeatIntervalMs?: number;
  readonly heartbeatTimeoutMs?: number;
  readonly dataDir?: string;
}

const ROOT = path.resolve(import.meta.dirname, '..');

export async function startCoordinator(options: CoordinatorOptions = {}): Promise<Coordinator> {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tabswarm-e2e-'));
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 500;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 4_000;
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'server/src/main.ts'),
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--data-dir',
      dataDir,
      '--heartbeat-interval-ms',
      String(heartbeatIntervalMs),
      '--heartbeat-timeout-ms',
      String(heartbeatTimeoutMs),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`coordinator did not start:\n${output}`)), 60_000);
    const check = (): void => {
      const match = /dashboard:\s+(http:\/\/\S+?)\/\s/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`coordinator exited with ${code}:\n${output}`));
    });
  });

  const operatorToken = fs.readFileSync(path.join(dataDir, 'operator-token'), 'utf8').trim();
  return {
    url,
    dataDir,
    heartbeatTimeoutMs,
    output: () => output,
    operatorToken,
    async api<T>(method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> {
      const res = await fetch(`${url}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${operatorToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const json = (await res.json()) as T;
      if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      await exited;
    },
  };
}
