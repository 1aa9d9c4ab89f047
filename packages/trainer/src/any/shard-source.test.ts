import { describe, expect, it } from 'vitest';
import { MemoryShardCache } from './shard-cache.ts';
import { ShardSource } from './shard-source.ts';
import { makeShard } from './test-support.ts';

const DATASET = { featureShape: [4], numClasses: 3 };
const BASE = 'http://coordinator.test';
const URL_0 = '/api/datasets/tiny/samples?split=train&start=0&end=8';

function fakeFetch(responses: (() => Response | Promise<Response>)[]) {
  const calls: string[] = [];
  const fetch = (input: string | URL | Request): Promise<Response> => {
    calls.push(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const next = responses.shift();
    if (next === undefined) return Promise.reject(new TypeError('network down'));
    return Promise.resolve(next());
  };
  return { fetch, calls };
}

const ok = (bytes: Uint8Array) => () => new Response(bytes.slice().buffer, { status: 200 });
const status = (code: number) => () => new Response('{}', { status: code });

describe('ShardSource', () => {
  it('downloads, decodes and caches a shard; the second load comes from the cache', async () => {
    const bytes = makeShard(DATASET, 0, 8);
    const { fetch, calls } = fakeFetch([ok(bytes)]);
    const cache = new MemoryShardCache();
    const source = new ShardSource({ baseUrl: BASE, cache, fetch });
    const first = await source.load(URL_0);
    expect(first).toMatchObject({ fromCache: false, attempts: 1 });
    expect(first.shard.count).toBe(8);
    expect(first.shard.x).toHaveLength(32);
    const second = await source.load(URL_0);
    expect(second.fromCache).toBe(true);
    expect(calls).toEqual([`${BASE}${URL_0}`]);
  });

  it('retries with backoff, then succeeds', async () => {
    const delays: number[] = [];
    const { fetch, calls } = fakeFetch([
      status(503),
      () => Promise.reject(new TypeError('reset')),
      ok(makeShard(DATASET, 0, 8)),
    ]);
    const source = new ShardSource({
      baseUrl: BASE,
      fetch,
      baseDelayMs: 100,
      sleep: (ms) => {
        delays.push(ms);
        return Promise.resolve();
      },
    });
    const loaded = await source.load(URL_0);
    expect(loaded.attempts).toBe(3);
    expect(calls).toHaveLength(3);
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeGreaterThanOrEqual(75);
    expect(delays[0]).toBeLessThanOrEqual(125);
    expect(delays[1]).toBeGreaterThanOrEqual(150);
    expect(delays[1]).toBeLessThanOrEqual(250);
  });

  it('gives up after its attempts with SHARD_UNAVAILABLE', async () => {
    const { fetch, calls } = fakeFetch([status(500), status(502), status(503)]);
    const source = new ShardSource({ baseUrl: BASE, fetch, attempts: 3, sleep: () => Promise.resolve() });
    await expect(source.load(URL_0)).rejects.toMatchObject({
      code: 'SHARD_UNAVAILABLE',
      message: /HTTP 503/,
    });
    expect(calls).toHaveLength(3);
  });

  it('does not retry a 404', async () => {
    const { fetch, calls } = fakeFetch([status(404), status(404)]);
    const source = new ShardSource({ baseUrl: BASE, fetch, sleep: () => Promise.resolve() });
    await expect(source.load(URL_0)).rejects.toMatchObject({ code: 'SHARD_UNAVAILABLE' });
    expect(calls).toHaveLength(1);
  });

  it('refuses bytes that are not a shard, and URLs off the coordinator', async () => {
    const { fetch } = fakeFetch([ok(new Uint8Array([1, 2, 3]))]);
    const source = new ShardSource({ baseUrl: BASE, fetch });
    await expect(source.load(URL_0)).rejects.toMatchObject({ code: 'SHARD_INVALID' });
    await expect(source.load('https://elsewhere.example/shard')).rejects.toMatchObject({
      code: 'SHARD_INVALID',
    });
  });

  it('drops a corrupt cached copy and downloads again', async () => {
    const cache = new MemoryShardCache();
    await cache.put(`${BASE}${URL_0}`, new Uint8Array([9, 9, 9]));
    const { fetch, calls } = fakeFetch([ok(makeShard(DATASET, 0, 8))]);
    const loaded = await new ShardSource({ baseUrl: BASE, cache, fetch }).load(URL_0);
    expect(loaded.fromCache).toBe(false);
    expect(calls).toHaveLength(1);
  });
});

describe('MemoryShardCache', () => {
  it('stays under its cap by evicting the least recently used', async () => {
    const cache = new MemoryShardCache(250);
    const bytes = (n: number) => new Uint8Array(100).fill(n);
    await cache.put('a', bytes(1));
    await cache.put('b', bytes(2));
    await cache.get('a'); // a is now more recent than b
    await cache.put('c', bytes(3));
    expect(await cache.get('b')).toBeNull();
    expect((await cache.get('a'))?.[0]).toBe(1);
    expect((await cache.get('c'))?.[0]).toBe(3);
    expect(await cache.size()).toBe(200);
    await cache.put('huge', new Uint8Array(300));
    expect(await cache.get('huge')).toBeNull();
  });
});
