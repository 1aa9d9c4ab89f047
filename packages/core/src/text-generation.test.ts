// Temperature sampling for text generation: seeded and reproducible, argmax at τ = 0, the right
// frequencies at τ = 1, sharper below 1; and generation from gpt-nano reads only real positions.
import * as tf from '@tensorflow/tfjs';
import { type ModelSpec } from '@tabswarm/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, setFlatWeights, topologyFor } from './model.ts';
import { mulberry32 } from './random.ts';
import { initialParameters } from './seeded-init.ts';
import { generateTokens, sampleWithTemperature } from './text-generation.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('sampleWithTemperature', () => {
  const probs = [0.1, 0.6, 0.3];

  it('draws with the given probabilities at temperature 1, not always the most probable', () => {
    const random = mulberry32(1);
    const counts = [0, 0, 0];
    for (let i = 0; i < 20_000; i++) counts[sampleWithTemperature(probs, 1, random)]! += 1;
    expect(counts[0]! / 20_000).toBeCloseTo(0.1, 1);
    expect(counts[1]! / 20_000).toBeCloseTo(0.6, 1);
    expect(counts[2]! / 20_000).toBeCloseTo(0.3, 1);
  });

  it('is argmax at temperature 0 and sharper below 1', () => {
    const random = mulberry32(2);
    for (let i = 0; i < 100; i++) expect(sampleWithTemperature(probs, 0, random)).toBe(1);
    let top = 0;
    for (let i = 0; i < 10_000; i++) if (sampleWithTemperature(probs, 0.5, random) === 1) top += 1;
    // p^2 normalised: 0.36 / 0.46 ≈ 0.78.
    expect(top / 10_000).toBeCloseTo(0.36 / 0.46, 1);
    expect(() => sampleWithTemperature(probs, -1, random)).toThrow(RangeError);
  });
});

describe('generateTokens', () => {
  it('continues a prompt reproducibly for a seed, with tokens from the vocabulary', async () => {
    const text = { featureShape: [16], labelShape: [16], numClasses: 9 };
    const spec: ModelSpec = { kind: 'preset', preset: 'gpt-nano' };
    const model = await buildModel(topologyFor(spec, text));
    setFlatWeights(model, await initialParameters(spec, text, 4));
    const options = { prompt: [1, 2, 3], length: 24, temperature: 1, seed: 9 };
    const a = await generateTokens(model, options);
    const b = await generateTokens(model, options);
    expect(a).toEqual(b);
    expect(a).toHaveLength(24);
    for (const t of a) expect(t >= 0 && t < 9).toBe(true);
    expect(await generateTokens(model, { ...options, seed: 10 })).not.toEqual(a);
    model.dispose();
  });
});
