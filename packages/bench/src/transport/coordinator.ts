/**
 * A coordinator in this process for the transport part: the pages need its socket.io membership
 * and PeerJS signalling only (no jobs, no training), so the real server on a free loopback port
 * with a throwaway data directory.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CONFIG, createServer } from '@tabswarm/server';

export interface BenchCoordinator {
  readonly url: string;
  stop(): Promise<void>;
}

/** `pageOrigin`: the bench pages' own origin (their Vite server), allowed to open its sockets. */
export async function startBenchCoordinator(pageOrigin: string): Promise<BenchCoordinator> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tabswarm-bench-'));
  const server = createServer({
    ...DEFAULT_CONFIG,
    host: '127.0.0.1',
    port: 0,
    dataDir,
    logLevel: 'warn',
    operatorToken: 'bench',
    heartbeatIntervalMs: 1_000,
    // Two pages moving 40 MB frames can be late with a heartbeat: not a reason to drop them.
    heartbeatTimeoutMs: 60_000,
    allowedOrigins: [pageOrigin],
  });
  const url = await server.listen(0, '127.0.0.1');
  return {
    url,
    async stop() {
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
