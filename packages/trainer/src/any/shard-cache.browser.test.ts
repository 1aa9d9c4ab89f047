// The shard cache on Cache Storage: survives a new cache object (a restarted worker), stays under
// its byte cap by evicting the least recently used.
import { afterEach, describe, expect, it } from 'vitest';
import { CacheStorageShardCache } from './shard-cache.ts';

const NAME = 'tabswarm-shards-test';
const url = (n: number): string => `${location.origin}/shards/${n}`;
const bytes = (n: number, size = 100): Uint8Array => new Uint8Array(size).fill(n);

afterEach(async () => {
  await caches.delete(NAME);
});

describe('CacheStorageShardCache', () => {
  it('keeps shards across instances and evicts the least recently used beyond its cap', async () => {
    const cache = new CacheStorageShardCache({ name: NAME, maxBytes: 250 });
    await cache.put(url(1), bytes(1));
    await cache.put(url(2), bytes(2));
    expect((await cache.get(url(1)))?.[0]).toBe(1); // 1 is now more recent than 2
    await cache.put(url(3), bytes(3));
    expect(await cache.get(url(2))).toBeNull();
    expect(await cache.size()).toBe(200);

    // A new instance (a restarted worker) finds what is stored, and keeps to the cap.
    const again = new CacheStorageShardCache({ name: NAME, maxBytes: 250 });
    expect(await again.size()).toBe(200);
    expect((await again.get(url(3)))?.[0]).toBe(3);
    await again.put(url(4), bytes(4));
    expect(await again.size()).toBe(200);
    expect(await again.get(url(1))).toBeNull();
    // Larger than the whole cap: not cached at all.
    await again.put(url(5), bytes(5, 300));
    expect(await again.get(url(5))).toBeNull();
  });
});
