// The coordinator's peer samples: whole-swarm views while the swarm is small, bounded random
// samples beyond, repaired on leave and refreshed; deltas go only to views a change touches, and
// how many go out per join or leave does not grow with the swarm.
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@tabswarm/core';
import { PeerView, type PeerInfo } from '@tabswarm/protocol';
import { PeerSamples, type ViewDeltas } from './peer-samples.ts';

const peer = (i: number): PeerInfo => ({ nodeId: `node${String(i).padStart(5, '0')}`, backend: 'cpu' });

/** A swarm as the volunteers see it: each holds the snapshot it got on joining plus the deltas sent to it. */
function swarm(sampleSize: number, seed = 1) {
  // Seeded (core's mulberry32), so a failure repeats.
  const samples = new PeerSamples({ sampleSize, random: mulberry32(seed) });
  const views = new Map<string, PeerView>();
  let emits = 0;
  const deliver = (deltas: ViewDeltas): number => {
    for (const [id, delta] of deltas) {
      emits++;
      views.get(id)?.apply(delta);
    }
    return deltas.size;
  };
  return {
    samples,
    views,
    emits: () => emits,
    join(i: number): number {
      const sent = deliver(samples.add(peer(i)));
      const view = new PeerView();
      view.reset(samples.view(peer(i).nodeId));
      views.set(peer(i).nodeId, view);
      return sent;
    },
    leave(i: number): number {
      views.delete(peer(i).nodeId);
      return deliver(samples.remove(peer(i).nodeId));
    },
    deliver,
  };
}

describe('peer samples', () => {
  it('gives everyone the whole swarm while it is small (as before sampling)', () => {
    const s = swarm(8);
    for (let i = 0; i < 9; i++) s.join(i);
    const all = Array.from({ length: 9 }, (_, i) => peer(i).nodeId);
    for (const view of s.views.values()) expect(view.ids()).toEqual(all);
    s.leave(4);
    for (const view of s.views.values())
      expect(view.ids()).toEqual(all.filter((id) => id !== peer(4).nodeId));
    expect(s.views.get(peer(0).nodeId)?.complete).toBe(true);
  });

  it('bounds every view beyond that, keeps views in step with the deltas, and repairs them on leave', () => {
    const s = swarm(8);
    for (let i = 0; i < 100; i++) s.join(i);
    for (const [id, view] of s.views) {
      expect(view.ids()).toContain(id);
      expect(view.size).toBe(9);
      expect(view.ids()).toEqual(s.samples.view(id).map((p) => p.nodeId));
    }
    for (let i = 0; i < 100; i += 3) s.leave(i);
    for (let k = 0; k < 20; k++) s.deliver(s.samples.refresh(10));
    for (const [id, view] of s.views) {
      // The client's view (snapshot + deltas) is what the coordinator thinks it is, still full,
      // and holds only live members.
      expect(view.ids()).toEqual(s.samples.view(id).map((p) => p.nodeId));
      expect(view.size).toBe(9);
      for (const other of view.ids()) expect(s.samples.has(other)).toBe(true);
    }
  });

  it('tells a leave only to the views that held the leaver', () => {
    const s = swarm(8);
    for (let i = 0; i < 60; i++) s.join(i);
    const leaver = peer(17).nodeId;
    const holders = [...s.views]
      .filter(([id, v]) => id !== leaver && v.ids().includes(leaver))
      .map(([id]) => id);
    const deltas = s.samples.remove(leaver);
    expect([...deltas.keys()].sort()).toEqual(holders.sort());
    for (const delta of deltas.values()) {
      expect(delta.removed).toEqual([leaver]);
      expect(delta.added).toHaveLength(1);
    }
  });

  it('sends as many messages per join and leave in a swarm of 500 as in one of 50', () => {
    const perChange = (size: number): { join: number; leave: number } => {
      const s = swarm(8, size);
      for (let i = 0; i < size; i++) s.join(i);
      let join = 0;
      let leave = 0;
      const rounds = 40;
      for (let k = 0; k < rounds; k++) {
        join += s.join(size + k);
        leave += s.leave(k);
      }
      return { join: join / rounds, leave: leave / rounds };
    };
    const small = perChange(50);
    const large = perChange(500);
    // A join costs the joiner's snapshot and nothing else once views are full; a leave, one delta
    // to each view that held the leaver (the sample size on average).
    expect(small.join).toBe(0);
    expect(large.join).toBe(0);
    expect(small.leave).toBeLessThanOrEqual(16);
    expect(large.leave).toBeLessThanOrEqual(16);
    expect(large.leave).toBeLessThan(small.leave * 1.5);
    // A full-list broadcast would have sent one message per member per change.
    expect(large.leave).toBeLessThan(50);
  });

  it('keeps in-degrees near the sample size, so no volunteer is everyone’s partner', () => {
    const s = swarm(8);
    for (let i = 0; i < 400; i++) s.join(i);
    for (let i = 0; i < 400; i += 2) s.leave(i);
    for (let k = 0; k < 50; k++) s.deliver(s.samples.refresh(20));
    let max = 0;
    for (let i = 1; i < 400; i += 2) max = Math.max(max, s.samples.watchers(peer(i).nodeId));
    expect(max).toBeLessThanOrEqual(2 * 8 + 4);
  });
});
