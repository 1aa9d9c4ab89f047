// The restart snapshots in Cache Storage: one per owner, owners apart, deleted when the owner
// stops, and a snapshot nobody has rewritten for an hour (a closed tab's) deleted by the next write.
import { afterEach, describe, expect, it } from 'vitest';
import { CacheStorageSnapshotStore, STALE_SNAPSHOT_MS } from './snapshot-store.ts';

const CACHE_NAME = 'tabswarm-snapshots-v1';
const vector = (n: number, v: number): Float32Array => new Float32Array(n).fill(v);

afterEach(async () => {
  await caches.delete(CACHE_NAME);
});

/** How many snapshots these owners have stored (other test files may share the cache). */
async function stored(...owners: string[]): Promise<number> {
  const keys = await (await caches.open(CACHE_NAME)).keys();
  return keys.filter((k) => owners.some((o) => k.url.includes(`/snapshot/${o}/`))).length;
}

describe('CacheStorageSnapshotStore', () => {
  it('keeps one snapshot per owner, apart from other owners', async () => {
    const a = new CacheStorageSnapshotStore('a');
    const b = new CacheStorageSnapshotStore('b');
    await a.put('job-1', vector(5, 1));
    await b.put('job-1', vector(5, 2));
    expect(await a.get('job-1')).toEqual(vector(5, 1));
    expect(await b.get('job-1')).toEqual(vector(5, 2));
    await a.put('job-1', vector(5, 3)); // a later shard replaces it
    expect(await a.get('job-1')).toEqual(vector(5, 3));
    await a.put('job-2', vector(3, 4)); // a new job's replaces the old job's
    expect(await a.get('job-1')).toBeNull();
    expect(await a.get('job-2')).toEqual(vector(3, 4));
    expect(await stored('a', 'b')).toBe(2);
    // A reopened store (a new worker) with the same owner reads it.
    expect(await new CacheStorageSnapshotStore('a').get('job-2')).toEqual(vector(3, 4));
  });

  it("deletes another owner's snapshot once it is stale, not before", async () => {
    let now = 1_000_000;
    const closed = new CacheStorageSnapshotStore('closed-tab', { now: () => now });
    await closed.put('job-1', vector(4, 1));
    now += STALE_SNAPSHOT_MS - 1;
    const open = new CacheStorageSnapshotStore('open-tab', { now: () => now });
    await open.put('job-1', vector(4, 2));
    expect(await closed.get('job-1')).toEqual(vector(4, 1));
    now += 2;
    await open.put('job-1', vector(4, 3));
    expect(await closed.get('job-1')).toBeNull();
    expect(await stored('closed-tab', 'open-tab')).toBe(1);
  });

  it("clear deletes the owner's snapshot and no one else's", async () => {
    const a = new CacheStorageSnapshotStore('stopping');
    const b = new CacheStorageSnapshotStore('staying');
    await a.put('job-1', vector(4, 1));
    await b.put('job-1', vector(4, 2));
    await a.clear();
    expect(await a.get('job-1')).toBeNull();
    expect(await b.get('job-1')).toEqual(vector(4, 2));
    expect(await stored('stopping', 'staying')).toBe(1);
  });

  it('a subarray is stored as its own values', async () => {
    const store = new CacheStorageSnapshotStore('sub');
    const whole = Float32Array.from([1, 2, 3, 4, 5]);
    await store.put('job', whole.subarray(1, 4));
    expect(await store.get('job')).toEqual(Float32Array.from([2, 3, 4]));
  });
});
