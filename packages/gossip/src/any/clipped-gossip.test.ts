import { afterEach, describe, expect, it } from 'vitest';
import { gossipControlSchema } from '@tabswarm/protocol';
import { agreedRadius, ClipRadius, clipFactor, MIN_DISTANCES } from './pair-clipping.ts';
import { distance, mean, norm, Swarm, type SwarmOptions } from './swarm-fixture.ts';
import { randomVector } from './test-helpers.ts';

const swarms: Swarm[] = [];
afterEach(() => {
  for (const swarm of swarms.splice(0)) swarm.close();
});

function swarm(options: SwarmOptions): Swarm {
  const s = new Swarm(options);
  swarms.push(s);
  return s;
}

describe('clipped gossip: the radius', () => {
  it('is offered once enough distances are known, as the multiple of their median', () => {
    const r = new ClipRadius(2);
    for (let i = 0; i < MIN_DISTANCES - 1; i++) r.record(1 + i);
    expect(r.offer()).toBeUndefined();
    r.record(100);
    expect(r.offer()).toBe(4); // lower median of 1, 2, 100 is 2
    r.record(Number.NaN);
    expect(r.offer()).toBe(4);
    expect(new ClipRadius(undefined).offer()).toBeUndefined();
  });

  it('is the smaller offer of the two sides; a step is scaled only beyond it', () => {
    expect(agreedRadius(undefined, undefined)).toBeUndefined();
    expect(agreedRadius(3, undefined)).toBe(3);
    expect(agreedRadius(undefined, 2)).toBe(2);
    expect(agreedRadius(3, 2)).toBe(2);
    expect(clipFactor(10, undefined)).toBe(1);
    expect(clipFactor(1, 2)).toBe(1);
    expect(clipFactor(8, 2)).toBe(0.25);
  });

  it('travels in the exchange request and reply, and nothing but a positive finite number is accepted', () => {
    const request = { t: 'xreq', x: 1, job: 'job-1', round: 0, codec: 'fp32', n: 3, param: 0, epoch: null };
    expect(gossipControlSchema.safeParse({ ...request, clip: 2.5 }).success).toBe(true);
    expect(gossipControlSchema.safeParse(request).success).toBe(true);
    for (const clip of [0, -1, Number.POSITIVE_INFINITY, Number.NaN, '2'])
      expect(gossipControlSchema.safeParse({ ...request, clip }).success, String(clip)).toBe(false);
  });
});

/**
 * Eight nodes that start from one model and "train" between rounds (each adds its own small
 * random step, so pair distances stay at the level training keeps them); from round 4 on, node 0
 * turns attacker and resets its model to the sign-flipped model ×3 after every round — inside the
 * norm check on receipt (3× an honest norm, the limit is 10×). Returns how far the honest nodes'
 * mean moved towards the attacker from where it was when the attack began, as a fraction of the
 * way, and the honest nodes' spread around their own mean at the end over the training step.
 */
async function attacked(clipMultiple: number | undefined): Promise<{ pulled: number; spread: number }> {
  const elements = 10_000;
  const step = 0.01;
  const s = swarm({ size: 8, elements, averaging: clipMultiple === undefined ? {} : { clipMultiple } });
  const [attacker, ...honest] = s.nodes;
  if (attacker === undefined) throw new Error('no attacker');
  const start = randomVector(elements, 99);
  for (const node of s.nodes) node.averager.current().set(start);
  const train = (round: number): void =>
    honest.forEach((node, i) => {
      const x = node.averager.current();
      const noise = randomVector(elements, 1000 * round + i + 1);
      for (let j = 0; j < elements; j++) x[j] = (x[j] as number) + step * ((noise[j] as number) - 0.5);
    });
  const far = Float32Array.from(start, (v) => -3 * v);
  let before = mean(s.vectors(honest));
  for (let round = 0; round < 16; round++) {
    train(round);
    if (round === 4) before = mean(s.vectors(honest));
    if (round >= 4) attacker.averager.current().set(far);
    await s.run(1);
  }
  const after = mean(s.vectors(honest));
  const stepNorm = step * norm(Float32Array.from(randomVector(elements, 7), (v) => v - 0.5));
  return {
    pulled: distance(after, before) / distance(far, before),
    spread: Math.max(...s.vectors(honest).map((v) => distance(v, after))) / stepNorm,
  };
}

describe('clipped gossip in a swarm', () => {
  it('bounds how far a far partner pulls the honest nodes; without clipping it drags them along', async () => {
    const off = await attacked(undefined);
    const on = await attacked(2);
    console.log(
      `[clipped gossip] pulled off ${off.pulled.toFixed(3)}, on ${on.pulled.toFixed(3)}; spread off ${off.spread.toFixed(3)}, on ${on.spread.toFixed(3)}`,
    );
    expect(off.pulled).toBeGreaterThan(0.3);
    expect(on.pulled).toBeLessThan(off.pulled / 5);
    // The honest nodes still average among themselves: spread within a few training steps.
    expect(on.spread).toBeLessThan(3);
  });

  it('costs an honest swarm nothing: consensus as fast, the mean kept', async () => {
    const s = swarm({ size: 8, elements: 20_000, averaging: { clipMultiple: 2 } });
    const before = mean(s.vectors());
    await s.run(8);
    const m = mean(s.vectors());
    expect(distance(m, before) / norm(before)).toBeLessThan(1e-5);
    expect(Math.max(...s.vectors().map((v) => distance(v, m))) / norm(m)).toBeLessThan(1e-3);
  });
});
