import { describe, expect, it } from 'vitest';
import { MIN_REPETITIONS, QUICK_REPETITIONS, UsageError, helpText, parseCliOptions } from './cli-options.ts';

const NAMES = {
  registered: ['training', 'kernels', 'transport'],
  planned: ['coordinator'],
  trainingPresets: ['mnist-mlp', 'mnist-cnn'],
};
const parse = (...argv: string[]) => parseCliOptions(argv, NAMES);

describe('parseCliOptions', () => {
  it('runs every registered part, in registry order, by default', () => {
    expect(parse()).toEqual({
      help: false,
      parts: ['training', 'kernels', 'transport'],
      quick: false,
      repetitions: MIN_REPETITIONS,
      out: null,
      presets: null,
    });
    expect(parse('transport', 'kernels').parts).toEqual(['kernels', 'transport']);
  });

  it('takes --quick, --repetitions and --out', () => {
    expect(parse('--quick')).toMatchObject({ quick: true, repetitions: QUICK_REPETITIONS });
    expect(parse('--quick', '--repetitions', '1', '--out', 'x')).toMatchObject({ repetitions: 1, out: 'x' });
    expect(parse('--repetitions', '9').repetitions).toBe(9);
    expect(parse('--help').help).toBe(true);
  });

  it('takes --preset for the training part, repeatable', () => {
    expect(parse('training', '--preset', 'mnist-cnn').presets).toEqual(['mnist-cnn']);
    expect(parse('--preset', 'mnist-mlp', '--preset', 'mnist-cnn').presets).toEqual([
      'mnist-mlp',
      'mnist-cnn',
    ]);
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['gpu'], /unknown part "gpu": the parts are training, kernels, transport/],
    [['coordinator'], /part "coordinator" is not written yet/],
    [['--repetitions', '3'], /at least 5/],
    [['--repetitions', '2.5', '--quick'], /whole number from 1 to 1000, not "2.5"/],
    [['--repetitions', '0', '--quick'], /whole number/],
    [['--repetitions'], /argument missing/],
    [['--out', ''], /--out needs a folder/],
    [['--preset', 'gpt'], /unknown preset "gpt" for --preset: the training part runs mnist-mlp, mnist-cnn/],
    [['kernels', '--preset', 'mnist-mlp'], /name that part too/],
  ])('refuses %j with a UsageError', (argv, message) => {
    expect(() => parse(...argv)).toThrow(UsageError);
    expect(() => parse(...argv)).toThrow(message);
  });
});

describe('helpText', () => {
  it('lists the parts and the planned ones as not yet', () => {
    const text = helpText(
      [{ name: 'kernels', description: 'k' }],
      [{ name: 'coordinator', description: 'c' }],
    );
    expect(text).toMatch(/kernels\s+k/);
    expect(text).toMatch(/coordinator\s+not yet: c/);
  });
});
