import { describe, expect, it } from 'vitest';
import { jobSpecSchema, parsePayload, presetTopology } from '@tabswarm/protocol';
import {
  defaultForm,
  FIELD_PATHS,
  fieldForPath,
  FORM_PRESETS,
  formToSpec,
  numberOrText,
  presetForm,
  specToForm,
  splitServerMessage,
  topologyFromModelJson,
  type JobForm,
} from './job-form.ts';

const defaults = jobSpecSchema.parse({ name: 'job' });

/** What the coordinator would answer for a form: its own message, path first. */
function serverMessage(form: JobForm): string | null {
  const parsed = parsePayload(jobSpecSchema, formToSpec(form));
  return parsed.ok ? null : parsed.message;
}

describe('form ↔ spec', () => {
  it('fills every field from the spec defaults and maps them back unchanged', () => {
    const form = specToForm(defaults);
    expect(form.learningRate).toBe('0.001');
    expect(form.optimizer).toBe('adam');
    expect(form.targetAccuracy).toBe('');
    expect(jobSpecSchema.parse(formToSpec(form))).toEqual(defaults);
  });

  it('round-trips every preset, and each preset is a valid job', () => {
    for (const preset of FORM_PRESETS) {
      const spec = jobSpecSchema.parse(preset.spec);
      expect(jobSpecSchema.parse(formToSpec(presetForm(preset)))).toEqual(spec);
    }
    expect(defaultForm().name).toBe(FORM_PRESETS[0]?.spec.name);
  });

  it('round-trips a spec with every optional and non-default value', () => {
    const spec = jobSpecSchema.parse({
      name: 'full',
      priority: 42,
      dataset: 'iris-1',
      model: { kind: 'preset', preset: 'mnist-cnn' },
      training: {
        optimizer: { type: 'momentum', momentum: 0.8, nesterov: true },
        learningRate: 0.05,
        batchSize: 16,
        localSteps: 3,
        epochs: 7,
        targetAccuracy: 0.97,
        seed: 123,
      },
      averaging: {
        mode: 'fedavg',
        schedule: 'random',
        codec: 'topk',
        topkFraction: 0.05,
        exchangeTimeoutMs: 1234,
        roundDeadlineMs: 5000,
        quorum: 0.75,
        maxNormRatio: 4,
      },
      checkpoint: { everyShards: 9, contributors: 2, uploadTimeoutMs: 4000, maxNormRatio: 3 },
    });
    expect(jobSpecSchema.parse(formToSpec(specToForm(spec)))).toEqual(spec);
  });

  it('sends only the chosen optimizer’s parameters', () => {
    const form = { ...specToForm(defaults), optimizer: 'sgd' as const };
    expect((formToSpec(form).training as Record<string, unknown>).optimizer).toEqual({ type: 'sgd' });
    const momentum = formToSpec({ ...form, optimizer: 'momentum', momentum: '0.5', nesterov: true });
    expect((momentum.training as Record<string, unknown>).optimizer).toEqual({
      type: 'momentum',
      momentum: 0.5,
      nesterov: true,
    });
  });

  it('leaves empty fields out (the default applies) and sends unreadable ones as typed', () => {
    expect(numberOrText('')).toBeUndefined();
    expect(numberOrText('  ')).toBeUndefined();
    expect(numberOrText('1e-3')).toBe(0.001);
    expect(numberOrText('.5')).toBe(0.5);
    expect(numberOrText('abc')).toBe('abc');
    const form = { ...specToForm(defaults), epochs: '', seed: 'x1' };
    const spec = formToSpec(form);
    const training = spec.training as Record<string, unknown>;
    expect('epochs' in training).toBe(false);
    expect(training.seed).toBe('x1');
    expect(serverMessage(form)).toBe('training.seed: seed must be a number');
  });

  it('sends an uploaded topology as the model', () => {
    const topology = presetTopology('mnist-mlp', { inputShape: [4], numClasses: 3 });
    const form: JobForm = { ...specToForm(defaults), modelKind: 'topology', topology };
    expect(formToSpec(form).model).toEqual({ kind: 'topology', topology });
    expect(jobSpecSchema.parse(formToSpec(form)).model).toEqual({ kind: 'topology', topology });
    // No file chosen yet: the server names the missing topology.
    const missing = serverMessage({ ...form, topology: null });
    expect(missing).toMatch(/^model\.topology: /);
  });
});

describe('server messages on fields', () => {
  it('splits the path from the message', () => {
    expect(splitServerMessage('training.learningRate: learning rate must be greater than 0')).toEqual({
      path: 'training.learningRate',
      text: 'learning rate must be greater than 0',
    });
    expect(splitServerMessage('the operator token is wrong')).toEqual({
      path: null,
      text: 'the operator token is wrong',
    });
  });

  it('maps each field path to its field, enclosing paths to the nearest field', () => {
    for (const [field, path] of Object.entries(FIELD_PATHS)) {
      expect(fieldForPath(path, { modelKind: 'preset' })).toBe(field);
    }
    expect(fieldForPath('model', { modelKind: 'preset' })).toBe('preset');
    expect(fieldForPath('model', { modelKind: 'topology' })).toBe('topology');
    expect(fieldForPath('model.topology.config', { modelKind: 'topology' })).toBe('topology');
    expect(fieldForPath('training.optimizer', { modelKind: 'preset' })).toBe('optimizer');
    expect(fieldForPath('training', { modelKind: 'preset' })).toBeNull();
    expect(fieldForPath('nonsense', { modelKind: 'preset' })).toBeNull();
  });

  it('puts the coordinator’s real messages on the right fields', () => {
    const base = specToForm(defaults);
    const cases: [Partial<JobForm>, string][] = [
      [{ learningRate: '0' }, 'learningRate'],
      [{ batchSize: '1.5' }, 'batchSize'],
      [{ name: '   ' }, 'name'],
      [{ batchSize: '4096', localSteps: '100' }, 'localSteps'],
      [{ checkpointContributors: '0' }, 'checkpointContributors'],
      [{ optimizer: 'adam', epsilon: '0' }, 'epsilon'],
      [{ quorum: '2' }, 'quorum'],
      [{ priority: '0' }, 'priority'],
    ];
    for (const [change, field] of cases) {
      const form = { ...base, ...change };
      const message = serverMessage(form);
      expect(message, JSON.stringify(change)).not.toBeNull();
      const { path } = splitServerMessage(message ?? '');
      expect(fieldForPath(path ?? '', form), message ?? '').toBe(field);
    }
    expect(serverMessage({ ...base, learningRate: '0' })).toBe(
      'training.learningRate: learning rate must be greater than 0',
    );
  });
});

describe('model.json upload', () => {
  it('takes modelTopology from a model.json, or a bare topology', () => {
    const topology = presetTopology('mnist-mlp', { inputShape: [4], numClasses: 3 });
    expect(
      topologyFromModelJson(JSON.stringify({ format: 'layers-model', modelTopology: topology })),
    ).toEqual(topology);
    expect(topologyFromModelJson(JSON.stringify(topology))).toEqual(topology);
    const keras = { modelTopology: { keras_version: '2', model_config: topology } };
    expect(topologyFromModelJson(JSON.stringify(keras))).toEqual(topology);
  });

  it('explains what is wrong with other files', () => {
    expect(() => topologyFromModelJson('not json')).toThrow('the file is not JSON');
    expect(() => topologyFromModelJson('[1]')).toThrow('not a JSON object');
    expect(() => topologyFromModelJson('{"modelTopology": 3}')).toThrow('modelTopology is not an object');
  });
});
