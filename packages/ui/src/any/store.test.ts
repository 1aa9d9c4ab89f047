import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatElapsed } from './elapsed.ts';
import { createStore } from './store.ts';

describe('createStore', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('merges patches and patch functions into a new snapshot, and notifies on every change by default', () => {
    const store = createStore({ n: 0, name: 'a' });
    const first = store.get();
    let calls = 0;
    store.subscribe(() => (calls += 1));
    store.update({ n: 1 });
    store.update((s) => ({ n: s.n + 1 }));
    expect(calls).toBe(2);
    expect(store.get()).toEqual({ n: 2, name: 'a' });
    // A new object each time: useSyncExternalStore sees the change by identity.
    expect(store.get()).not.toBe(first);
    expect(first).toEqual({ n: 0, name: 'a' });
  });

  it('stops telling a listener once it unsubscribes, and a listener may unsubscribe while being told', () => {
    const store = createStore({ n: 0 });
    const seen: string[] = [];
    const offA = store.subscribe(() => {
      seen.push('a');
      offA();
    });
    store.subscribe(() => seen.push('b'));
    store.update({ n: 1 });
    store.update({ n: 2 });
    expect(seen).toEqual(['a', 'b', 'b']);
  });

  it('with notifyEveryMs: the first change at once, a burst folded into one trailing call, state always current', async () => {
    vi.useFakeTimers();
    const store = createStore({ n: 0 }, { notifyEveryMs: 200 });
    const seen: number[] = [];
    const unsubscribe = store.subscribe(() => seen.push(store.get().n));
    store.update({ n: 1 });
    expect(seen).toEqual([1]);
    for (let i = 2; i <= 100; i++) store.update({ n: i });
    expect(store.get().n).toBe(100);
    expect(seen).toEqual([1]);
    await vi.advanceTimersByTimeAsync(199);
    expect(seen).toEqual([1]);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen).toEqual([1, 100]);
    await vi.advanceTimersByTimeAsync(1000);
    store.update({ n: 101 });
    expect(seen).toEqual([1, 100, 101]);
    unsubscribe();
  });

  it('measures the interval on the clock it is given', () => {
    let clock = 1_000;
    vi.useFakeTimers();
    const store = createStore({ n: 0 }, { notifyEveryMs: 100, now: () => clock });
    let calls = 0;
    store.subscribe(() => (calls += 1));
    store.update({ n: 1 });
    clock += 100;
    store.update({ n: 2 }); // a full interval has passed on the given clock: told at once
    expect(calls).toBe(2);
  });
});

describe('formatElapsed', () => {
  it('reads as a clock: minutes and seconds, hours once there are any, never negative', () => {
    expect(formatElapsed(0)).toBe('0:00');
    expect(formatElapsed(65_999)).toBe('1:05');
    expect(formatElapsed(3_600_000 + 2 * 60_000 + 9_000)).toBe('1:02:09');
    expect(formatElapsed(-5_000)).toBe('0:00');
  });
});
