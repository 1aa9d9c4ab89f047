import { describe, expect, it } from 'vitest';
import { MovingAverage, restAfterStep } from './pacing.ts';
import { EventQueue } from './event-queue.ts';

describe('pacing', () => {
  it('rests t·(1/d − 1) after a step', () => {
    expect(restAfterStep(100, 1)).toBe(0);
    expect(restAfterStep(100, 0.5)).toBe(100);
    expect(restAfterStep(100, 0.25)).toBe(300);
    expect(restAfterStep(Number.NaN, 0.25)).toBe(0);
  });

  it('averages', () => {
    const m = new MovingAverage(0.5);
    expect(m.value).toBeNull();
    expect(m.add(10)).toBe(10);
    expect(m.add(20)).toBe(15);
  });
});

describe('EventQueue', () => {
  it('delivers in order, drops the oldest droppable when full, and ends when closed', async () => {
    const q = new EventQueue<string>(3, (e) => e.startsWith('step'));
    for (const e of ['a', 'step1', 'step2', 'b']) q.push(e);
    q.close();
    const seen: string[] = [];
    for await (const e of q) seen.push(e);
    expect(seen).toEqual(['a', 'step2', 'b']);
  });
});
