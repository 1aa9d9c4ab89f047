/**
 * For this package's tests: a real coordinator (createServer on port 0, its own data directory)
 * started before a file's tests and closed after them, with an OperatorClient on it and a way to
 * make a swarm of virtual volunteers for it, and `until`, the poll every swarm test waits on the
 * coordinator's state with.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { DEFAULT_CONFIG, createServer, type ServerConfig, type TabswarmServer } from '@tabswarm/server';
import { MemoryNetwork } from '@tabswarm/gossip';
import { OperatorClient } from './operator-client.ts';
import { VirtualVolunteer } from './virtual-volunteer.ts';

export interface TestCoordinator {
  /** Its base URL (valid once the file's tests run). */
  readonly url: string;
  readonly operator: OperatorClient;
  /** The operator token (for requests the OperatorClient does not make). */
  readonly token: string;
  /** Virtual volunteers on the WebAssembly backend, linked by one in-memory network, not started yet. */
  wasmSwarm(labels: readonly string[]): VirtualVolunteer[];
}

/**
 * Polls `probe` every `pollMs` until it returns a value (not null); throws after `timeoutMs`, with
 * what `state` says of the swarm then — a CI log that only says "timed out" cannot be diagnosed.
 */
export async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | null>,
  options: { readonly pollMs?: number; readonly state?: () => Promise<unknown> } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) {
      const state = await options
        .state?.()
        .catch((error: unknown) => `(state unavailable: ${String(error)})`);
      throw new Error(
        `timed out waiting for ${what}${state === undefined ? '' : `; state: ${JSON.stringify(state)}`}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
  }
}

export function useTestCoordinator(name: string, overrides: Partial<ServerConfig> = {}): TestCoordinator {
  const token = `${name}-operator-token-0123456789`;
  let server: TabswarmServer | undefined;
  let dataDir: string | undefined;
  let running: { url: string; operator: OperatorClient } | undefined;
  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `tabswarm-${name}-`));
    server = createServer({
      ...DEFAULT_CONFIG,
      dataDir,
      host: '127.0.0.1',
      heartbeatIntervalMs: 1_000,
      heartbeatTimeoutMs: 10_000,
      operatorToken: token,
      logLevel: 'silent',
      ...overrides,
    });
    const url = await server.listen(0);
    running = { url, operator: new OperatorClient(url, token) };
  });
  afterAll(async () => {
    await server?.close();
    if (dataDir !== undefined) fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const started = (): { url: string; operator: OperatorClient } => {
    if (running === undefined) throw new Error('the test coordinator starts in beforeAll');
    return running;
  };
  return {
    token,
    wasmSwarm(labels) {
      const network = new MemoryNetwork();
      return labels.map(
        (label) => new VirtualVolunteer({ baseUrl: started().url, network, backend: 'wasm', label }),
      );
    },
    get url() {
      return started().url;
    },
    get operator() {
      return started().operator;
    },
  };
}
