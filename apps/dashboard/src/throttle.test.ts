import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { throttledTask, type ThrottledTask } from './throttle.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Asks for a run, then lets `ms` of fake time pass. */
async function requestThenWait(task: ThrottledTask, ms: number): Promise<void> {
  task.request();
  await vi.advanceTimersByTimeAsync(ms);
}

describe('throttledTask', () => {
  it('runs at once, folds a burst into one trailing run, and never faster than the interval', async () => {
    const starts: number[] = [];
    const task = throttledTask(async () => {
      starts.push(Date.now());
      await Promise.resolve();
    }, 1000);
    const t0 = Date.now();
    task.request();
    for (let i = 0; i < 50; i++) task.request();
    await vi.advanceTimersByTimeAsync(999);
    expect(starts).toEqual([t0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts).toEqual([t0, t0 + 1000]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(starts).toHaveLength(2);
    task.dispose();
  });

  it('never overlaps a slow run, and reruns after it when asked meanwhile', async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    const task = throttledTask(async () => {
      running += 1;
      runs += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      running -= 1;
    }, 100);
    await requestThenWait(task, 500);
    await requestThenWait(task, 10_000);
    expect(most).toBe(1);
    expect(runs).toBe(2);
    task.dispose();
  });

  it('keeps going after a failed run, and stops after dispose', async () => {
    let runs = 0;
    const task = throttledTask(async () => {
      runs += 1;
      await Promise.resolve();
      throw new Error('boom');
    }, 100);
    await requestThenWait(task, 200);
    await requestThenWait(task, 200);
    expect(runs).toBe(2);
    task.request();
    task.dispose();
    await vi.advanceTimersByTimeAsync(1000);
    await requestThenWait(task, 1000);
    expect(runs).toBe(3);
  });
});
