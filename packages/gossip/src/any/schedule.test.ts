import { describe, expect, it } from 'vitest';
import { memberView } from './coordinator-port.ts';
import { exponentialSchedule, hypercubeDimensions, randomSchedule, scheduleFor } from './schedule.ts';

const members = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const all = (): boolean => true;
const fixed = (): number => 0.5;

describe('partner schedules', () => {
  it('pairs the sorted membership as a hypercube: symmetric, a new dimension each round', () => {
    expect(hypercubeDimensions(8)).toBe(3);
    expect(hypercubeDimensions(7)).toBe(3);
    expect(hypercubeDimensions(2)).toBe(1);
    for (let round = 0; round < 6; round++) {
      for (const self of members) {
        const p = exponentialSchedule.partner(round, [...members].reverse(), self, all, fixed);
        expect(p?.scheduled).toBe(true);
        const back = exponentialSchedule.partner(round, members, p?.peerId ?? '', all, fixed);
        expect(back?.peerId).toBe(self);
      }
    }
    expect(exponentialSchedule.partner(0, members, 'a', all, fixed)?.peerId).toBe('b');
    expect(exponentialSchedule.partner(1, members, 'a', all, fixed)?.peerId).toBe('c');
    expect(exponentialSchedule.partner(2, members, 'a', all, fixed)?.peerId).toBe('e');
    expect(exponentialSchedule.partner(3, members, 'a', all, fixed)?.peerId).toBe('b');
  });

  it('falls back to a random eligible partner when the scheduled one is missing or excluded', () => {
    const seven = members.slice(0, 7);
    const p = exponentialSchedule.partner(0, seven, 'g', all, fixed); // 6 ^ 1 = 7: missing
    expect(p?.scheduled).toBe(false);
    expect(seven).toContain(p?.peerId);
    expect(p?.peerId).not.toBe('g');
    const q = exponentialSchedule.partner(0, members, 'a', (id) => id !== 'b', fixed);
    expect(q).toMatchObject({ scheduled: false });
    expect(q?.peerId).not.toBe('b');
  });

  it('has nobody to offer a node alone, and picks uniformly on the random schedule', () => {
    expect(exponentialSchedule.partner(0, ['a'], 'a', all, fixed)).toBeNull();
    expect(randomSchedule.partner(0, ['a', 'b'], 'a', all, Math.random)?.peerId).toBe('b');
    const counts = new Map<string, number>();
    let s = 1;
    const rng = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 7000; i++) {
      const id = scheduleFor('random').partner(i, members, 'a', all, rng)?.peerId ?? '';
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.size).toBe(7);
    for (const n of counts.values()) expect(n).toBeGreaterThan(800);
  });

  it('picks at random among a sample (unscheduled): samples differ, so pairs would not match', () => {
    const sample = memberView(members, true);
    const seen = new Set<string>();
    let r = 0;
    const rng = (): number => (r = (r + 0.37) % 1);
    for (let round = 0; round < 40; round++) {
      const p = exponentialSchedule.partner(0, sample, 'a', all, rng);
      expect(p?.scheduled).toBe(false);
      seen.add(p?.peerId ?? '');
    }
    expect(seen.size).toBeGreaterThan(3);
    expect(seen.has('a')).toBe(false);
    // The whole swarm (no sample mark) still pairs as a hypercube.
    expect(exponentialSchedule.partner(0, memberView(members, false), 'a', all, rng)).toEqual({
      peerId: 'b',
      scheduled: true,
    });
  });
});
