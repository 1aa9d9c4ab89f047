import { describe, expect, it } from 'vitest';
import {
  MAX_MODEL_PARAMETERS,
  MAX_TOPOLOGY_DEPTH,
  jobSpecSchema,
  modelSizeProblem,
  nestedDeeperThan,
} from './job-spec.ts';
import { parsePayload } from './schemas.ts';

describe('job spec', () => {
  it('fills every default from just a name', () => {
    const spec = jobSpecSchema.parse({ name: 'digits' });
    expect(spec).toMatchObject({
      name: 'digits',
      model: { kind: 'preset', preset: 'mnist-mlp' },
      dataset: 'mnist',
      training: {
        optimizer: { type: 'adam' },
        learningRate: 0.001,
        batchSize: 32,
        localSteps: 10,
        epochs: 2,
        seed: 1,
      },
      averaging: { mode: 'gossip', schedule: 'exponential', codec: 'fp32' },
      checkpoint: { everyShards: 20, contributors: 3, aggregation: { rule: 'clipped' } },
      priority: 10,
    });
    expect(spec.averaging.aggregation).toEqual({
      rule: 'clipped',
      trimFraction: 0.2,
      momentum: 0.9,
      iterations: 3,
      rejectOutliers: false,
      lossScreenSamples: 0,
      lossTolerance: 2,
    });
    // The default rule keeps jobs of one or two checkpoint contributors valid.
    expect(jobSpecSchema.parse({ name: 'x', checkpoint: { contributors: 1 } }).checkpoint.contributors).toBe(
      1,
    );
    expect(spec.training.targetAccuracy).toBeUndefined();
  });

  it('leaves the outer optimizer off unless asked, and fills its defaults when it is', () => {
    expect(jobSpecSchema.parse({ name: 'x' }).averaging.outer).toBeUndefined();
    expect(jobSpecSchema.parse({ name: 'x', averaging: { outer: {} } }).averaging.outer).toEqual({
      syncEvery: 4,
      learningRate: 1,
      momentum: 0.5,
    });
  });

  it('fills optimizer parameters for the chosen optimizer', () => {
    const spec = jobSpecSchema.parse({ name: 'm', training: { optimizer: { type: 'momentum' } } });
    expect(spec.training.optimizer).toEqual({ type: 'momentum', momentum: 0.9, nesterov: false });
  });

  it.each([
    [{ name: '' }, 'name: name must not be empty'],
    [
      { name: 'x', training: { learningRate: 0 } },
      'training.learningRate: learning rate must be greater than 0',
    ],
    [{ name: 'x', training: { batchSize: 1.5 } }, 'training.batchSize: batch size must be a whole number'],
    [{ name: 'x', training: { epochs: 0 } }, 'training.epochs: epochs must be at least 1'],
    [
      { name: 'x', training: { samplesPerEpoch: 0 } },
      'training.samplesPerEpoch: samples per epoch must be at least 1',
    ],
    [
      { name: 'x', training: { optimizer: { type: 'rmsprop' } } },
      'training.optimizer.type: optimizer.type must be one of sgd, momentum, adam',
    ],
    [
      { name: 'x', averaging: { codec: 'zip' } },
      'averaging.codec: codec must be one of fp32, fp16, int8, topk',
    ],
    [
      { name: 'x', model: { kind: 'preset', preset: 'gpt' } },
      'model.preset: preset must be one of mnist-mlp, mnist-cnn',
    ],
    [
      { name: 'x', model: { kind: 'topology', topology: { layers: [] } } },
      'model.topology: topology needs "class_name" and "config"',
    ],
    [{ name: 'x', dataset: '../etc' }, 'dataset: dataset must be "mnist" or an uploaded dataset id'],
    [{ name: 'x', training: { learningRate: Number.NaN } }, 'training.learningRate:'],
    [{ name: 'x', surprise: 1 }, 'surprise'],
    [
      { name: 'x', checkpoint: { contributors: 2, aggregation: { rule: 'median' } } },
      'checkpoint.aggregation.rule: median needs at least 3 participants to outvote one bad upload, not 2 (checkpoint.contributors is 2)',
    ],
    [
      {
        name: 'x',
        checkpoint: { contributors: 3, aggregation: { rule: 'trimmed-mean', trimFraction: 0.2 } },
      },
      'checkpoint.aggregation.rule: trimmed-mean with trimFraction 0.2 trims nothing from 3 participants: it needs at least 5',
    ],
    [
      { name: 'x', checkpoint: { aggregation: { rule: 'krum' } } },
      'checkpoint.aggregation.rule: aggregation rule must be one of',
    ],
    [
      { name: 'x', averaging: { aggregation: { momentum: 1 } } },
      'averaging.aggregation.momentum: aggregation momentum must be less than 1',
    ],
    [
      { name: 'x', averaging: { aggregation: { trimFraction: 0.5 } } },
      'averaging.aggregation.trimFraction: trim fraction must be less than 0.5',
    ],
    [
      { name: 'x', averaging: { aggregation: { iterations: 0 } } },
      'averaging.aggregation.iterations: aggregation iterations must be at least 1',
    ],
    [
      { name: 'x', averaging: { aggregation: { clipRadius: 0 } } },
      'averaging.aggregation.clipRadius: clip radius must be finite and greater than 0',
    ],
    [
      { name: 'x', checkpoint: { aggregation: { lossScreenSamples: 5000 } } },
      'checkpoint.aggregation.lossScreenSamples: loss screen samples must be at most 4096',
    ],
    [
      { name: 'x', averaging: { aggregation: { lossScreenSamples: 2.5 } } },
      'averaging.aggregation.lossScreenSamples: loss screen samples must be a whole number',
    ],
    [
      { name: 'x', averaging: { aggregation: { lossTolerance: 0 } } },
      'averaging.aggregation.lossTolerance: loss tolerance must be greater than 0 and at most 10',
    ],
    [
      { name: 'x', averaging: { outer: { syncEvery: 0 } } },
      'averaging.outer.syncEvery: outer syncEvery (shards) must be at least 1',
    ],
    [
      { name: 'x', averaging: { outer: { momentum: 1 } } },
      'averaging.outer.momentum: outer momentum must be less than 1',
    ],
    [
      { name: 'x', averaging: { outer: { momentum: -0.1 } } },
      'averaging.outer.momentum: outer momentum must be at least 0',
    ],
    [
      { name: 'x', averaging: { outer: { learningRate: 0 } } },
      'averaging.outer.learningRate: outer learning rate must be greater than 0',
    ],
    [{ name: 'x', averaging: { outer: { sync: 4 } } }, 'averaging.outer: Unrecognized key: "sync"'],
    [
      { name: 'x', averaging: { topkFraction: 0 } },
      'averaging.topkFraction: top-k fraction must be greater than 0',
    ],
  ])('explains %j', (input, message) => {
    const result = parsePayload(jobSpecSchema, input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain(message);
  });

  it('refuses a topology nested 100,000 deep with its path, without overflowing the stack', () => {
    let config: unknown = {};
    for (let i = 0; i < 100_000; i++) config = [config];
    const topology = { class_name: 'Sequential', config };
    const result = parsePayload(jobSpecSchema, { name: 'x', model: { kind: 'topology', topology } });
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.message).toBe(
        `model.topology: topology is nested deeper than ${MAX_TOPOLOGY_DEPTH} levels of objects and arrays`,
      );
  });

  it('measures nesting without recursion, cycles included', () => {
    const nest = (depth: number): unknown => {
      let v: unknown = 1;
      for (let i = 0; i < depth; i++) v = { v };
      return v;
    };
    expect(nestedDeeperThan(nest(MAX_TOPOLOGY_DEPTH), MAX_TOPOLOGY_DEPTH)).toBe(false);
    expect(nestedDeeperThan(nest(MAX_TOPOLOGY_DEPTH + 1), MAX_TOPOLOGY_DEPTH)).toBe(true);
    expect(nestedDeeperThan('text', 0)).toBe(false);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(nestedDeeperThan(cyclic, MAX_TOPOLOGY_DEPTH)).toBe(true);
  });

  it('caps a model at MAX_MODEL_PARAMETERS parameters', () => {
    expect(modelSizeProblem(MAX_MODEL_PARAMETERS)).toBeNull();
    expect(modelSizeProblem(128_000_000)).toBe(
      "the model has 128,000,000 parameters; a job's model may have at most 50,000,000 (200 MB as fp32)",
    );
  });
});
