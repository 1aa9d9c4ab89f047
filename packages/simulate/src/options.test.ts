import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOptions } from './options.ts';
import type { SimulationPlan } from './plan.ts';

const deps = { now: new Date('2026-12-04T18:00:00.000Z'), randomSeed: () => 42 };
const thisFile = new URL(import.meta.url).pathname;

function plan(...argv: string[]): SimulationPlan {
  const parsed = parseOptions(argv, deps);
  if (parsed.kind !== 'plan') throw new Error(`expected a plan, got ${JSON.stringify(parsed)}`);
  return parsed.plan;
}

describe('parseOptions: good command lines', () => {
  it('fills the defaults', () => {
    expect(plan('--browsers', '2')).toEqual({
      url: null,
      token: null,
      job: { kind: 'preset', preset: 'mnist-mlp' },
      browsers: 2,
      contexts: false,
      virtual: 0,
      backend: null,
      virtualBackend: 'wasm',
      faults: [],
      churnPerMinute: 0,
      stragglers: { fraction: 0, slowdown: 1 },
      seed: 42,
      out: 'simulations/2026-12-04T18-00-00-000Z',
      timeoutSeconds: 900,
      progress: true,
    } satisfies SimulationPlan);
  });

  it('reads faults in every accepted form, sorted by when they fire', () => {
    const p = plan(
      '--browsers=2',
      '--virtual',
      '4',
      '--kill',
      '1@50%',
      '--kill=2@0.25',
      '--join',
      '1@60%',
      '--offline',
      '1@0.7:5',
      '--offline',
      '2@10%',
      '--partition',
      '3/3@40%:20',
      '--restart-coordinator@80%',
      '--restart-coordinator=0.9',
      '--restart-coordinator',
      '95%',
    );
    expect(p.faults).toEqual([
      { kind: 'offline', count: 2, at: 0.1, seconds: 10 },
      { kind: 'kill', count: 2, at: 0.25 },
      { kind: 'partition', a: 3, b: 3, at: 0.4, seconds: 20 },
      { kind: 'kill', count: 1, at: 0.5 },
      { kind: 'join', count: 1, at: 0.6 },
      { kind: 'offline', count: 1, at: 0.7, seconds: 5 },
      { kind: 'restart-coordinator', at: 0.8 },
      { kind: 'restart-coordinator', at: 0.9 },
      { kind: 'restart-coordinator', at: 0.95 },
    ]);
  });

  it('reads the swarm, job, stragglers, churn and run options', () => {
    const out = mkdtempSync(join(tmpdir(), 'simulate-out-'));
    const p = plan(
      ...[
        '--browsers',
        '3',
        '--contexts',
        '--backend',
        'webgl',
        '--virtual',
        '10',
        '--virtual-backend',
        'cpu',
      ],
      ...['--spec', thisFile, '--stragglers', '1/4', '--slowdown', '10x', '--churn', '1.5'],
      ...['--seed', '7', '--out', out, '--timeout', '60', '--quiet'],
    );
    expect(p).toMatchObject({
      job: { kind: 'spec-file', path: thisFile },
      browsers: 3,
      contexts: true,
      backend: 'webgl',
      virtual: 10,
      virtualBackend: 'cpu',
      stragglers: { fraction: 0.25, slowdown: 10 },
      churnPerMinute: 1.5,
      seed: 7,
      out,
      timeoutSeconds: 60,
      progress: false,
    });
    expect(plan('--virtual', '1', '--stragglers', '25%').stragglers).toEqual({ fraction: 0.25, slowdown: 4 });
    expect(plan('--virtual', '1', '--preset', 'mnist-mlp-fedavg').job).toEqual({
      kind: 'preset',
      preset: 'mnist-mlp-fedavg',
    });
    // A large swarm gets the small-shard job unless a preset is named.
    expect(plan('--virtual', '17').job).toEqual({ kind: 'preset', preset: 'mnist-mlp-many' });
    expect(plan('--virtual', '16').job).toEqual({ kind: 'preset', preset: 'mnist-mlp' });
    expect(plan('--virtual', '1000', '--preset', 'mnist-mlp').job).toEqual({
      kind: 'preset',
      preset: 'mnist-mlp',
    });
  });

  it('takes an existing job on a running coordinator', () => {
    const p = plan('--url', 'http://localhost:8080/', '--token', 't0k', '--job', 'abc-1', '--virtual', '2');
    expect(p).toMatchObject({
      url: 'http://localhost:8080',
      token: 't0k',
      job: { kind: 'existing', jobId: 'abc-1' },
    });
  });

  it('expands --faults default to the documented mix for the swarm size, plus extra flags', () => {
    const p = plan('--browsers', '6', '--faults', 'default', '--kill', '1@90%');
    expect(p.stragglers).toEqual({ fraction: 1 / 6, slowdown: 4 });
    expect(p.faults).toEqual([
      { kind: 'kill', count: 1, at: 0.3 },
      { kind: 'partition', a: 3, b: 3, at: 0.4, seconds: 15 },
      { kind: 'join', count: 1, at: 0.5 },
      { kind: 'offline', count: 1, at: 0.6, seconds: 10 },
      { kind: 'restart-coordinator', at: 0.7 },
      { kind: 'kill', count: 1, at: 0.9 },
    ]);
    // A coordinator we did not start is not ours to kill.
    const remote = plan('--url', 'http://h:1', '--virtual', '3', '--faults', 'default');
    expect(remote.faults.map((f) => f.kind)).not.toContain('restart-coordinator');
    expect(remote.faults).toContainEqual({ kind: 'partition', a: 1, b: 2, at: 0.4, seconds: 15 });
  });

  it('answers --help with every option', () => {
    const parsed = parseOptions(['--browsers', '2', '--help'], deps);
    expect(parsed.kind).toBe('help');
    const text = parsed.kind === 'help' ? parsed.text : '';
    for (const option of [
      '--url',
      '--token',
      '--preset',
      '--spec',
      '--job',
      '--browsers',
      '--contexts',
      '--backend',
      '--virtual',
      '--virtual-backend',
      '--faults',
      '--kill',
      '--join',
      '--churn',
      '--stragglers',
      '--slowdown',
      '--offline',
      '--partition',
      '--restart-coordinator@P',
      '--seed',
      '--out',
      '--timeout',
      '--quiet',
      '--help',
      'mnist-mlp',
      'Examples',
    ])
      expect(text).toContain(option);
  });
});

describe('parseOptions: bad command lines', () => {
  const full = mkdtempSync(join(tmpdir(), 'simulate-full-'));
  writeFileSync(join(full, 'x'), '');
  const cases: [string[], RegExp][] = [
    [[], /--browsers\/--virtual: start at least one volunteer/],
    [['--browsers', 'two'], /--browsers: "two" is not a whole number \(0–64\)/],
    [['--browsers', '65'], /--browsers: 65 is out of range \(0–64\)/],
    [['--browsers', '-1'], /--browsers/],
    [['--virtual', '5001'], /--virtual: 5001 is out of range/],
    [['--browsers', '1', '--browsers', '2'], /--browsers: given more than once/],
    [['--browsers', '1', '--bogus'], /Unknown option '--bogus'/],
    [['--browsers', '1', 'extra'], /extra: unexpected argument/],
    [['--browsers'], /--browsers/],
    [['--virtual', '1', '--contexts'], /--contexts: needs --browsers/],
    [['--browsers', '1', '--backend', 'metal'], /--backend: "metal" is not one of webgpu, webgl, wasm, cpu/],
    [['--virtual', '1', '--backend', 'wasm'], /--backend: .*no --browsers/],
    [
      ['--virtual', '1', '--virtual-backend', 'webgpu'],
      /--virtual-backend: "webgpu" is not one of wasm, cpu/,
    ],
    [['--browsers', '1', '--virtual-backend', 'cpu'], /--virtual-backend: there are no --virtual/],
    [['--virtual', '1', '--preset', 'toString'], /--preset: "toString" is not a preset/],
    [
      ['--virtual', '1', '--preset', 'resnet'],
      /--preset: "resnet" is not a preset; one of mnist-mlp, mnist-mlp-fedavg/,
    ],
    [['--virtual', '1', '--preset', 'mnist-mlp', '--spec', thisFile], /--preset\/--spec\/--job: choose one/],
    [['--virtual', '1', '--spec', '/no/such.json'], /--spec: no file "\/no\/such.json"/],
    [['--virtual', '1', '--spec', tmpdir()], /--spec: .* is not a file/],
    [['--virtual', '1', '--job', 'abc'], /--job: .*add --url/],
    [['--virtual', '1', '--url', 'http://h', '--job', 'a b'], /--job: "a b" is not a job id/],
    [['--virtual', '1', '--url', 'localhost:8080x'], /--url/],
    [['--virtual', '1', '--url', 'ftp://h'], /--url: "ftp:\/\/h" must be http/],
    [['--virtual', '1', '--token', 'x'], /--token: only with --url/],
    [['--virtual', '1', '--kill', '1'], /--kill: "1" is not N@P/],
    [['--virtual', '1', '--kill', '0@50%'], /--kill: 0 is out of range/],
    [['--virtual', '1', '--kill', '1@150%'], /--kill: "150%" is not a job progress between 0 and 1/],
    [['--virtual', '1', '--kill', '1@1'], /--kill: "1" is not a job progress/],
    [['--virtual', '1', '--kill', '1@0%'], /--kill: "0%" is not a job progress/],
    [['--virtual', '1', '--kill', '2@50%'], /--kill: 2 is more than the 1 volunteers/],
    [['--virtual', '1', '--join', '1@half'], /--join: "half" is not a job progress/],
    [['--virtual', '2', '--offline', '1@50%:0'], /--offline: 0 is out of range/],
    [['--virtual', '2', '--offline', '1@50%:soon'], /--offline: "soon" is not a number/],
    [['--virtual', '2', '--partition', '1-1@50%'], /--partition: "1-1@50%" is not A\/B@P/],
    [['--virtual', '2', '--partition', '2/1@50%'], /--partition: groups of 2\+1 are more than the 2/],
    [['--virtual', '2', '--restart-coordinator@2'], /--restart-coordinator: "2" is not a job progress/],
    [
      ['--virtual', '2', '--url', 'http://h', '--restart-coordinator@50%'],
      /--restart-coordinator: needs a coordinator started here/,
    ],
    [['--virtual', '2', '--churn', '-3'], /--churn/],
    [['--virtual', '2', '--churn', '601'], /--churn: 601 is out of range/],
    [['--virtual', '2', '--stragglers', '2'], /--stragglers: "2" is not a fraction/],
    [['--virtual', '2', '--stragglers', '0/4'], /--stragglers: "0\/4" is not a fraction/],
    [
      ['--virtual', '2', '--stragglers', '0.5', '--slowdown', '1'],
      /--slowdown: 1 is out of range \(more than 1–100\)/,
    ],
    [['--virtual', '2', '--slowdown', '4'], /--slowdown: only with --stragglers/],
    [
      ['--virtual', '2', '--faults', 'heavy'],
      /--faults: "heavy" is not a fault mix; the one there is: default/,
    ],
    [['--virtual', '1', '--faults', 'default'], /--faults: the default mix needs at least 2 volunteers/],
    [['--virtual', '2', '--seed', 'abc'], /--seed: "abc" is not a whole number/],
    [['--virtual', '2', '--seed', '4294967296'], /--seed: 4294967296 is out of range/],
    [['--virtual', '2', '--timeout', '5'], /--timeout: 5 is out of range \(10–86400\)/],
    [['--virtual', '2', '--out', full], /--out: ".*" is not empty/],
    [['--virtual', '2', '--out', thisFile], /--out: ".*" is a file/],
    [['--virtual', '2', '--out', ''], /--out: must not be empty/],
  ];
  it.each(cases)('%j → %s', (argv, message) => {
    const parsed = parseOptions(argv, deps);
    expect(parsed.kind).toBe('error');
    const text = parsed.kind === 'error' ? parsed.message : '';
    expect(text).toMatch(message);
    expect(text).not.toContain('\n');
  });
});
