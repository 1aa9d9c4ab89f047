/**
 * Where a compute keeps the parameters after each shard — what a restarted compute starts from —
 * so that they never cross to the page: Cache Storage in browsers (a new worker, started after a
 * lost device or a crash, reads what the old one wrote), a Map elsewhere.
 *
 * Every trainer (page) has its own owner key: two tabs of one browser share Cache Storage, and each
 * must restart from its own parameters. One snapshot per owner (a new job's replaces the old job's),
 * deleted when its trainer stops; a snapshot no owner has rewritten for an hour (a tab closed
 * mid-job) is deleted by the next write of any owner, so the store holds about one model per open
 * tab.
 */

export interface SnapshotStore {
  /** Keeps `values` as the owner's snapshot of `jobId`, replacing whatever the owner kept before. */
  put(jobId: string, values: Float32Array): Promise<void>;
  /** The owner's snapshot of `jobId`, or null (none, another job's, or evicted by the browser). */
  get(jobId: string): Promise<Float32Array | null>;
  /** Deletes the owner's snapshot (its trainer stopped: no compute of it will restart). */
  clear(): Promise<void>;
}

/** A snapshot untouched this long belongs to a page that is gone. */
export const STALE_SNAPSHOT_MS = 60 * 60 * 1000;

const CACHE_NAME = 'tabswarm-snapshots-v1';
const SAVED_HEADER = 'x-tabswarm-saved-at';
const PATH = '/__tabswarm/snapshot/';

export class MemorySnapshotStore implements SnapshotStore {
  #kept: { jobId: string; values: Float32Array } | null = null;

  put(jobId: string, values: Float32Array): Promise<void> {
    this.#kept = { jobId, values: values.slice() };
    return Promise.resolve();
  }

  get(jobId: string): Promise<Float32Array | null> {
    const kept = this.#kept;
    return Promise.resolve(kept?.jobId === jobId ? kept.values.slice() : null);
  }

  clear(): Promise<void> {
    this.#kept = null;
    return Promise.resolve();
  }
}

export class CacheStorageSnapshotStore implements SnapshotStore {
  readonly #owner: string;
  readonly #origin: string;
  readonly #now: () => number;

  constructor(owner: string, options: { now?: () => number } = {}) {
    this.#owner = owner;
    this.#origin = globalThis.location?.origin ?? 'http://localhost';
    this.#now = options.now ?? Date.now;
  }

  static available(): boolean {
    return typeof caches !== 'undefined';
  }

  /** The URL prefix of this owner's snapshots. */
  #mine(): string {
    return `${this.#origin}${PATH}${encodeURIComponent(this.#owner)}/`;
  }

  #url(jobId: string): string {
    return `${this.#mine()}${encodeURIComponent(jobId)}`;
  }

  async put(jobId: string, values: Float32Array): Promise<void> {
    const cache = await caches.open(CACHE_NAME);
    const url = this.#url(jobId);
    const mine = this.#mine();
    const now = this.#now();
    for (const request of await cache.keys()) {
      if (request.url === url) continue;
      if (request.url.startsWith(mine)) {
        await cache.delete(request); // this owner's snapshot of an earlier job
        continue;
      }
      const savedAt = Number((await cache.match(request))?.headers.get(SAVED_HEADER));
      if (!(now - savedAt < STALE_SNAPSHOT_MS)) await cache.delete(request);
    }
    const body =
      values.byteOffset === 0 && values.byteLength === values.buffer.byteLength ? values : values.slice();
    await cache.put(
      url,
      new Response(body as unknown as BodyInit, {
        headers: { 'content-type': 'application/octet-stream', [SAVED_HEADER]: String(now) },
      }),
    );
  }

  async get(jobId: string): Promise<Float32Array | null> {
    const cache = await caches.open(CACHE_NAME);
    const response = await cache.match(this.#url(jobId));
    if (response === undefined) return null;
    const bytes = await response.arrayBuffer();
    return bytes.byteLength % 4 === 0 ? new Float32Array(bytes) : null;
  }

  async clear(): Promise<void> {
    const cache = await caches.open(CACHE_NAME);
    const mine = this.#mine();
    for (const request of await cache.keys()) if (request.url.startsWith(mine)) await cache.delete(request);
  }
}

/**
 * A fresh owner key: 128 random bits, hex. getRandomValues, not randomUUID, which pages served over
 * plain http from another machine (a coordinator on the LAN) do not have.
 */
export function newSnapshotOwner(): string {
  const words = crypto.getRandomValues(new Uint32Array(4));
  return Array.from(words, (w) => w.toString(16).padStart(8, '0')).join('');
}

/** Cache Storage where there is one (browsers, workers), else memory (one compute's lifetime). */
export function snapshotStore(owner: string): SnapshotStore {
  return CacheStorageSnapshotStore.available()
    ? new CacheStorageSnapshotStore(owner)
    : new MemorySnapshotStore();
}
