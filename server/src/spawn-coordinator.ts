/**
 * Runs the coordinator's main.ts — exactly what `npm start` runs — as a child process on a free
 * loopback port, for the tests that need the real process (the crash test, the e2e suite).
 * Resolves once it printed the address it listens on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface SpawnOptions {
  readonly dataDir: string;
  /** More command-line flags after --port/--host/--data-dir. */
  readonly args?: readonly string[];
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly startTimeoutMs?: number;
}

export interface SpawnedCoordinator {
  readonly url: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited, for whatever reason. */
  readonly exited: Promise<void>;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** Resolves when what it prints from now on matches the pattern. */
  waitForLog(pattern: RegExp): Promise<void>;
}

export function spawnCoordinator(options: SpawnOptions): Promise<SpawnedCoordinator> {
  const child = spawn(
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
      options.dataDir,
      ...(options.args ?? []),
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'info', ...options.env },
    },
  );
  let output = '';
  const waiters = new Set<{ from: number; pattern: RegExp; resolve: () => void }>();
  const onOutput = (data: Buffer): void => {
    output += data.toString();
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(output.slice(waiter.from))) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`coordinator did not start:\n${output}`));
    }, options.startTimeoutMs ?? 60_000);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`coordinator exited (${code}) before listening:\n${output}`));
    };
    child.once('exit', onExit);
    const check = (): void => {
      const url = /dashboard:\s+(http:\/\/\S+?)\/\s/.exec(output)?.[1];
      if (url === undefined) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout?.off('data', check);
      resolve({
        url,
        child,
        exited,
        output: () => output,
        waitForLog: (pattern) =>
          new Promise((done) => waiters.add({ from: output.length, pattern, resolve: done })),
      });
    };
    child.stdout?.on('data', check);
  });
}
