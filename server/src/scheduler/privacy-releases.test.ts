/**
 * A job's privacy accounting counts, for its most leased shard, every lease over every epoch: a
 * shard holds the same samples each epoch, and a lease released before it finished may still
 * have released an update.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { result, schedulerFixture, spec, type SchedulerFixture } from './test-fixture.ts';

let f: SchedulerFixture;
afterEach(() => f.store.close());

describe('mostLeasesOfOneShard', () => {
  it('is 0 before any lease, one per epoch for shards leased once, more for a re-leased shard', () => {
    f = schedulerFixture();
    // 3 shards of 10 samples, 2 epochs.
    const job = f.scheduler.createJob(spec({ training: { batchSize: 10, localSteps: 1, epochs: 2 } }), 30);
    expect(f.scheduler.mostLeasesOfOneShard(job.id)).toBe(0);
    const first = f.scheduler.requestLease('a');
    if (first === null) throw new Error('expected a lease');
    expect(f.scheduler.mostLeasesOfOneShard(job.id)).toBe(1);
    // Released unfinished: its shard is leased again, to another volunteer — two releases of it.
    f.scheduler.releaseLease(first.id, 'a');
    const again = f.scheduler.requestLease('b');
    expect(again?.shard).toBe(first.shard);
    expect(f.scheduler.mostLeasesOfOneShard(job.id)).toBe(2);
    // Every shard of both epochs done once more: the re-leased shard has 3, the others 2.
    f.scheduler.completeLease(again?.id ?? '', 'b', result);
    for (;;) {
      const lease = f.scheduler.requestLease('c');
      if (lease === null) break;
      f.scheduler.completeLease(lease.id, 'c', result);
    }
    expect(f.scheduler.getJob(job.id)?.status).toBe('completed');
    expect(f.scheduler.mostLeasesOfOneShard(job.id)).toBe(3);
    // Another job's leases are its own.
    const other = f.scheduler.createJob(spec(), 30);
    expect(f.scheduler.mostLeasesOfOneShard(other.id)).toBe(0);
  });
});
