import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { failedPart, resultsFile, writeResults, type RunRecord } from './results.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function run(status: 'partial' | 'ok'): RunRecord {
  return {
    startedAt: new Date('2026-12-07T13:00:00.000Z'),
    options: { parts: ['training'], quick: false, repetitions: 5, presets: ['gpt-nano'] },
    machine: { cpu: 'test', cores: 2, memoryGiB: 1, node: process.version, chromium: null, webgpu: null },
    parts: [
      { part: 'training', status, seconds: 1, markdown: '| a |', data: { reps: status === 'ok' ? 5 : 2 } },
    ],
  };
}

describe('the bench results folder', () => {
  it('keeps a long run’s figures so far in a partial record, replaced by the final one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-results-'));
    dirs.push(dir);
    const partial = writeResults(dir, run('partial'), true);
    expect(partial).toBe(resultsFile(dir, run('partial').startedAt, true));
    expect(partial.endsWith('.partial.json')).toBe(true);
    const kept = JSON.parse(fs.readFileSync(partial, 'utf8')) as {
      parts: { status: string; data: unknown }[];
    };
    expect(kept.parts[0]).toMatchObject({ status: 'partial', data: { reps: 2 } });
    // Written again as the run goes on: still one file, no temporary left behind.
    writeResults(dir, run('partial'), true);
    expect(fs.readdirSync(dir)).toEqual([path.basename(partial)]);

    const final = writeResults(dir, run('ok'));
    expect(fs.readdirSync(dir)).toEqual([path.basename(final)]);
    expect(final.endsWith('.partial.json')).toBe(false);
  });

  it('a part that fails after keeping figures has them in the final record', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-results-'));
    dirs.push(dir);
    const sofar = { markdown: '| 1 repetition |', data: { reps: 1 } };
    const base = run('partial');
    writeResults(
      dir,
      { ...base, parts: [{ part: 'training', status: 'partial', seconds: 1, ...sofar }] },
      true,
    );
    const final = writeResults(dir, {
      ...base,
      parts: [failedPart('training', 2, 'page.evaluate: Target page closed', sofar)],
    });
    expect(fs.readdirSync(dir)).toEqual([path.basename(final)]);
    const record = JSON.parse(fs.readFileSync(final, 'utf8')) as { parts: unknown[] };
    expect(record.parts[0]).toEqual({
      part: 'training',
      status: 'failed',
      seconds: 2,
      error: 'page.evaluate: Target page closed',
      markdown: '| 1 repetition |',
      data: { reps: 1 },
    });
    expect(failedPart('kernels', 1, 'no adapter', null)).toEqual({
      part: 'kernels',
      status: 'failed',
      seconds: 1,
      error: 'no adapter',
    });
  });
});
