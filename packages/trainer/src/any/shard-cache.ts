/**
 * Where downloaded shards are kept: Cache Storage in browsers (it survives worker restarts and
 * reloads), a Map elsewhere. Both stay under a byte cap by evicting the least recently used.
 * Shard URLs are immutable, so a cached shard never needs revalidating.
 */

export interface ShardCache {
  get(url: string): Promise<Uint8Array | null>;
  put(url: string, bytes: Uint8Array): Promise<void>;
  delete(url: string): Promise<void>;
  /** Bytes held now. */
  size(): Promise<number>;
}

export const DEFAULT_SHARD_CACHE_BYTES = 256 * 1024 * 1024;

interface Entry {
  bytes: number;
  usedAt: number;
}

/** LRU bookkeeping shared by both caches. */
class LruIndex {
  readonly entries = new Map<string, Entry>();
  #clock = 0;

  constructor(readonly maxBytes: number) {}

  get total(): number {
    let sum = 0;
    for (const e of this.entries.values()) sum += e.bytes;
    return sum;
  }

  touch(url: string, bytes?: number, usedAt?: number): void {
    const entry = this.entries.get(url);
    const stamp = usedAt ?? ++this.#clock;
    this.#clock = Math.max(this.#clock, stamp);
    if (entry) {
      entry.usedAt = stamp;
      if (bytes !== undefined) entry.bytes = bytes;
    } else if (bytes !== undefined) {
      this.entries.set(url, { bytes, usedAt: stamp });
    }
  }

  /** URLs to evict so that `incoming` more bytes fit, least recently used first. */
  victims(incoming: number): string[] {
    const sorted = [...this.entries].sort((a, b) => a[1].usedAt - b[1].usedAt);
    let total = this.total;
    const out: string[] = [];
    for (const [url, entry] of sorted) {
      if (total + incoming <= this.maxBytes) break;
      out.push(url);
      total -= entry.bytes;
    }
    return out;
  }
}

export class MemoryShardCache implements ShardCache {
  readonly #data = new Map<string, Uint8Array>();
  readonly #index: LruIndex;

  constructor(maxBytes = DEFAULT_SHARD_CACHE_BYTES) {
    this.#index = new LruIndex(maxBytes);
  }

  get(url: string): Promise<Uint8Array | null> {
    const bytes = this.#data.get(url) ?? null;
    if (bytes !== null) this.#index.touch(url);
    return Promise.resolve(bytes);
  }

  put(url: string, bytes: Uint8Array): Promise<void> {
    if (bytes.length > this.#index.maxBytes) return Promise.resolve();
    this.#data.delete(url);
    this.#index.entries.delete(url);
    for (const victim of this.#index.victims(bytes.length)) {
      this.#data.delete(victim);
      this.#index.entries.delete(victim);
    }
    this.#data.set(url, bytes.slice());
    this.#index.touch(url, bytes.length);
    return Promise.resolve();
  }

  delete(url: string): Promise<void> {
    this.#data.delete(url);
    this.#index.entries.delete(url);
    return Promise.resolve();
  }

  size(): Promise<number> {
    return Promise.resolve(this.#index.total);
  }
}

const BYTES_HEADER = 'x-tabswarm-bytes';
const STORED_HEADER = 'x-tabswarm-stored-at';

/**
 * Cache Storage under a byte cap. The index (size and last use of each entry) is rebuilt from the
 * stored responses' headers when a cache is opened, so several workers over time share it; last
 * use is tracked in memory after that ("LRU-ish": a reopened cache orders by time stored).
 */
export class CacheStorageShardCache implements ShardCache {
  readonly #name: string;
  readonly #index: LruIndex;
  #opened: Promise<Cache> | null = null;
  /** One change at a time: eviction decisions depend on the index. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: { name?: string; maxBytes?: number } = {}) {
    this.#name = options.name ?? 'tabswarm-shards-v1';
    this.#index = new LruIndex(options.maxBytes ?? DEFAULT_SHARD_CACHE_BYTES);
  }

  static available(): boolean {
    return typeof caches !== 'undefined';
  }

  async get(url: string): Promise<Uint8Array | null> {
    const cache = await this.#open();
    const response = await cache.match(url);
    if (response === undefined) {
      this.#index.entries.delete(url);
      return null;
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    this.#index.touch(url, bytes.length);
    return bytes;
  }

  put(url: string, bytes: Uint8Array): Promise<void> {
    return this.#serial(async () => {
      if (bytes.length > this.#index.maxBytes) return;
      const cache = await this.#open();
      this.#index.entries.delete(url);
      for (const victim of this.#index.victims(bytes.length)) {
        await cache.delete(victim);
        this.#index.entries.delete(victim);
      }
      const body = bytes.slice().buffer;
      await cache.put(
        url,
        new Response(body, {
          headers: {
            'content-type': 'application/octet-stream',
            [BYTES_HEADER]: String(bytes.length),
            [STORED_HEADER]: String(Date.now()),
          },
        }),
      );
      this.#index.touch(url, bytes.length);
    });
  }

  delete(url: string): Promise<void> {
    return this.#serial(async () => {
      const cache = await this.#open();
      await cache.delete(url);
      this.#index.entries.delete(url);
    });
  }

  async size(): Promise<number> {
    await this.#open();
    return this.#index.total;
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #open(): Promise<Cache> {
    this.#opened ??= (async () => {
      const cache = await caches.open(this.#name);
      for (const request of await cache.keys()) {
        const response = await cache.match(request);
        const bytes = Number(response?.headers.get(BYTES_HEADER));
        const storedAt = Number(response?.headers.get(STORED_HEADER));
        if (Number.isSafeInteger(bytes) && bytes >= 0) {
          this.#index.touch(request.url, bytes, Number.isFinite(storedAt) ? storedAt : 0);
        }
      }
      return cache;
    })();
    return this.#opened;
  }
}
