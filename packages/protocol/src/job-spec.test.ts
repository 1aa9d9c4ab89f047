import { describe, expect, it } from 'vitest';
import { jobSpecSchema } from './job-spec.ts';
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
      checkpoint: { everyShards: 20, contributors: 3 },
      priority: 10,
    });
    expect(spec.training.targetAccuracy).toBeUndefined();
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
  ])('explains %j', (input, message) => {
    const result = parsePayload(jobSpecSchema, input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain(message);
  });
});
