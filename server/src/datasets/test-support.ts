/**
 * Helpers for the datasets tests: temporary data directories and what is left in them, and the
 * dataset routes on a real HTTP server.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll } from 'vitest';
import { DatasetRegistry } from './registry.ts';

export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tabswarm-datasets-'));
}

/** Entries of `<dataDir>/datasets`, hidden temporaries included: what a failed import left behind. */
export function datasetDirEntries(dataDir: string): string[] {
  const dir = path.join(dataDir, 'datasets');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

/** Yields `bytes` in pieces of `size`, as a slow network would. */
export async function* inPieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) {
    await Promise.resolve(); // each piece arrives in a later microtask, not all at once
    yield bytes.subarray(i, i + size);
  }
}

export interface DatasetServer {
  readonly dataDir: string;
  readonly registry: DatasetRegistry;
  readonly server: http.Server;
  /** The URL of /api/datasets. */
  readonly base: string;
}

/**
 * An HTTP server on a free port of 127.0.0.1 with a fresh data directory and its registry, for
 * the tests of the file or describe block that calls this: started before them, closed after
 * them. `mount` adds the routes under test to the app.
 */
export function useDatasetServer(
  mount: (app: express.Express, registry: DatasetRegistry) => void,
): DatasetServer {
  let running: DatasetServer | undefined;
  beforeAll(async () => {
    const dataDir = tempDataDir();
    const registry = new DatasetRegistry(dataDir);
    const app = express();
    mount(app, registry);
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/datasets`;
    running = { dataDir, registry, server, base };
  });
  afterAll(async () => {
    const server = running?.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const started = (): DatasetServer => {
    if (running === undefined) throw new Error('the dataset server starts in beforeAll');
    return running;
  };
  return {
    get dataDir() {
      return started().dataDir;
    },
    get registry() {
      return started().registry;
    },
    get server() {
      return started().server;
    },
    get base() {
      return started().base;
    },
  };
}
