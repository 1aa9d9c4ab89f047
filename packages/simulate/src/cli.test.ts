import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli, type CliDeps } from './cli.ts';
import type { SimulationPlan } from './plan.ts';
import type { SimulationOutcome, SimulationRecord } from './record.ts';
import { recordFixture } from './report-fixture.ts';
import type { SimulationHooks } from './run-simulation.ts';

function sink(isTTY = false): { text: () => string; isTTY: boolean; write(t: string): boolean } {
  let all = '';
  return { isTTY, text: () => all, write: (t: string) => ((all += t), true) };
}

function deps(
  run: CliDeps['run'],
): CliDeps & { out: ReturnType<typeof sink>; err: ReturnType<typeof sink>; fire(s: string): void } {
  const out = sink();
  const err = sink();
  let handler: ((s: string) => void) | null = null;
  return {
    run,
    stdout: out,
    stderr: err,
    out,
    err,
    onSignal: (h) => {
      handler = h;
      return () => (handler = null);
    },
    fire: (s) => handler?.(s),
  };
}

const outDir = (): string => join(mkdtempSync(join(tmpdir(), 'simulate-cli-')), 'report');
const finished = (outcome: SimulationOutcome) => {
  const r = recordFixture(3);
  return { ...r, summary: { ...r.summary, outcome } };
};

describe('simulate CLI', () => {
  it('refuses bad options with one line and exit code 2, starting nothing', async () => {
    let started = false;
    const d = deps(() => {
      started = true;
      return Promise.resolve(finished('completed'));
    });
    expect(await runCli(['--browsers', '2', '--kill', '1@150%'], d)).toBe(2);
    expect(started).toBe(false);
    expect(d.err.text()).toMatch(/^simulate: --kill: "150%" is not a job progress[^\n]*\n$/);
  });

  it.each([
    ['completed', 0],
    ['failed', 1],
    ['timeout', 1],
    ['interrupted', 130],
  ] as const)('writes the report and the summary; %s exits %i', async (outcome, code) => {
    const out = outDir();
    const d = deps(() => Promise.resolve(finished(outcome)));
    expect(await runCli(['--virtual', '2', '--out', out, '--quiet'], d)).toBe(code);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    const written = JSON.parse(readFileSync(join(out, 'record.json'), 'utf8')) as SimulationRecord;
    expect(written.summary.outcome).toBe(outcome);
    expect(d.out.text()).toContain(`outcome                        ${outcome}`);
    expect(d.out.text()).toContain('report.html');
  });

  it('aborts the run on SIGINT through the signal and still writes what it had', async () => {
    const out = outDir();
    let seenPlan: SimulationPlan | null = null;
    const d = deps(
      (plan: SimulationPlan, hooks: SimulationHooks) =>
        new Promise((resolve) => {
          seenPlan = plan;
          hooks.onProgress?.({
            t: 1_000,
            phase: 'running',
            progress: 0.25,
            accuracy: 0.5,
            alive: { browsers: 0, virtual: 2 },
            faultsDone: 0,
            faultsPlanned: 1,
            jobStatus: 'running',
          });
          hooks.signal?.addEventListener('abort', () => resolve(finished('interrupted')));
          setTimeout(() => d.fire('SIGINT'), 10);
        }),
    );
    expect(await runCli(['--virtual', '2', '--kill', '1@50%', '--out', out], d)).toBe(130);
    expect(seenPlan).toMatchObject({ virtual: 2, faults: [{ kind: 'kill', count: 1, at: 0.5 }] });
    expect(d.out.text()).toContain(
      ' 25.0 % · accuracy 50.0 % · alive 0 browsers + 2 virtual · faults 0/1 · 0:01 · running',
    );
    expect(d.out.text()).toMatch(/SIGINT: stopping/);
    expect(existsSync(join(out, 'record.json'))).toBe(true);
  });

  it('exits 2 on bad options and 0 on --help as a real command', async () => {
    const run = promisify(execFile);
    const cli = new URL('./cli.ts', import.meta.url).pathname;
    const bad = (await run(process.execPath, ['--import', 'tsx', cli, '--browsers', 'x']).catch(
      (e: unknown) => e,
    )) as { code?: number; stderr?: string };
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^simulate: --browsers: "x" is not a whole number[^\n]*\n$/);
    const help = await run(process.execPath, ['--import', 'tsx', cli, '--help']);
    expect(help.stdout).toContain('Usage: npm run simulate');
  });
});
