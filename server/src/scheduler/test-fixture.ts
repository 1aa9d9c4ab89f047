/** A scheduler on a fresh store (SQLite, or PostgreSQL in the postgres project) with a fake clock, for tests. */
import fs from 'node:fs';
import { jobSpecSchema, type JobSpecInput } from '@tabswarm/protocol';
import type { Store } from '../store/store.ts';
import { openEmptyTestStore } from '../store/test-store.ts';
import { tempDir } from '../test-support.ts';
import { Scheduler } from './scheduler.ts';
import { DEFAULT_LEASE_TIMING, type LeaseTiming } from './types.ts';

export interface SchedulerFixture {
  readonly dir: string;
  store: Store;
  scheduler: Scheduler;
  clock: { now: number };
  advance(ms: number): void;
  /** Closes the store and opens it again: what a coordinator crash and restart leaves behind. */
  restart(): void;
}

export const TEST_TIMING: LeaseTiming = {
  ...DEFAULT_LEASE_TIMING,
  floorMs: 1_000,
  capMs: 10_000,
  maxLifetimeMs: 20_000,
  // Heartbeats may keep a lease of the 1 s floor window alive up to the 20 s maximum, as the
  // scheduler tests expect; untrusted-volunteers.test.ts exercises the multiple on its own.
  lifetimeMultiple: 20,
};

export function schedulerFixture(timing: LeaseTiming = TEST_TIMING): SchedulerFixture {
  // RAM-backed when available: the property test opens a thousand stores and fsyncs each completion.
  const dir = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/tabswarm-test-') : tempDir();
  const clock = { now: 1_000_000 };
  const { store, reopen } = openEmptyTestStore(dir);
  const fixture: SchedulerFixture = {
    dir,
    store,
    scheduler: new Scheduler(store.db, timing, () => clock.now),
    clock,
    advance(ms) {
      clock.now += ms;
    },
    restart() {
      fixture.store.close();
      fixture.store = reopen();
      fixture.scheduler = new Scheduler(fixture.store.db, timing, () => clock.now);
      fixture.scheduler.recover();
    },
  };
  return fixture;
}

export function spec(input: Partial<JobSpecInput> = {}) {
  return jobSpecSchema.parse({
    name: 'test',
    training: { batchSize: 10, localSteps: 1, epochs: 1 },
    ...input,
  });
}

export const result = { loss: 0.5, samples: 10, durationMs: 100 };
