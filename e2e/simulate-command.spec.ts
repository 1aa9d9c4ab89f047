/**
 * `npm run simulate` as a user runs it: the real command, a coordinator it starts itself, a mixed
 * swarm (one headless Chromium and four virtual volunteers) and a fault schedule — a 2 + 2
 * partition, a kill and a join, seeded — then the report it leaves behind: the summary table on
 * stdout, record.json with every fault carried out at its point and every shard counted once, and
 * a report.html that needs no network.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import type { SimulationRecord } from '../packages/simulate/src/record.ts';

interface Finished {
  /** The exit status a shell reports: the code, or 128 + the signal's number. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The command in its own process group, as a terminal runs it (Ctrl-C signals the group). */
function simulate(args: string[]): { pid: number; output: () => string; done: Promise<Finished> } {
  const child = spawn('npm', ['run', '--silent', 'simulate', '--', ...args], {
    cwd: path.resolve(import.meta.dirname, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? (signal === null ? null : 128 + os.constants.signals[signal]),
        stdout,
        stderr,
      }),
    );
  });
  return { pid: child.pid ?? -1, output: () => stdout + stderr, done };
}

/** Every live descendant of a process, from /proc. */
function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (pid: number): void => {
    for (const [child, parent] of parentOf) {
      if (parent !== pid) continue;
      found.push(child);
      walk(child);
    }
  };
  walk(root);
  return found;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('npm run simulate: a mixed swarm under a partition, a kill and a join completes and reports', async () => {
  test.setTimeout(480_000);
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tabswarm-simulate-')), 'report');
  const { code, stdout, stderr } = await simulate([
    '--browsers',
    '1',
    '--virtual',
    '4',
    '--partition',
    '2/2@10%:4',
    '--kill',
    '1@40%',
    '--join',
    '1@50%',
    '--seed',
    '7',
    '--quiet',
    '--timeout',
    '420',
    '--out',
    out,
  ]).done;
  console.log(stdout);
  if (code !== 0) console.log(stderr.split('\n').slice(-40).join('\n'));
  expect(code).toBe(0);
  expect(stdout).toMatch(/outcome\s+completed/);
  expect(stdout).toMatch(/shards counted once\s+15 of 15 \(none twice\)/);

  const record = JSON.parse(fs.readFileSync(path.join(out, 'record.json'), 'utf8')) as SimulationRecord;
  expect(record.summary.outcome).toBe('completed');
  expect(record.summary.ledger).toEqual({ shards: 15, countedOnce: 15, uncounted: 0, countedTwice: 0 });
  expect(record.browserMode).toBe('processes');
  // Every planned fault was carried out, in order, at or after its point of the job.
  const done = record.faults.filter((f) => f.ok).map((f) => f.kind);
  expect(done).toEqual(expect.arrayContaining(['partition', 'heal', 'kill', 'join']));
  const fault = (kind: string) => record.faults.find((f) => f.kind === kind && f.ok);
  const at = (kind: string): number => fault(kind)?.progress ?? -1;
  expect(at('partition')).toBeGreaterThanOrEqual(0.1);
  // The heal is timed, not placed by progress: 4 s later (no shard need finish meanwhile).
  expect(at('heal')).toBeGreaterThanOrEqual(at('partition'));
  expect((fault('heal')?.t ?? 0) - (fault('partition')?.t ?? 0)).toBeGreaterThanOrEqual(4_000);
  expect(at('kill')).toBeGreaterThanOrEqual(0.4);
  expect(at('join')).toBeGreaterThanOrEqual(0.5);
  // Two groups of two, chosen by the seed among the five.
  expect(record.faults.find((f) => f.kind === 'partition')?.targets).toHaveLength(4);
  expect(record.nodes.length).toBe(6);
  expect(record.checkpoints.length).toBeGreaterThan(0);
  expect(record.samples.length).toBeGreaterThan(3);

  const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
  expect(html).toMatch(/^<!doctype html>/i);
  // Self-contained: nothing fetched from anywhere.
  expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org)/);
});

test('Ctrl-C stops every browser, volunteer and coordinator the run started and still writes the report', async () => {
  test.setTimeout(240_000);
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tabswarm-simulate-')), 'report');
  // mnist-mlp-many: 1,000 one-step shards, far more than the run lasts.
  const run = simulate(['--browsers', '1', '--virtual', '2', '--preset', 'mnist-mlp-many', '--out', out]);
  await expect.poll(run.output, { timeout: 180_000, intervals: [1_000] }).toMatch(/· running/);
  const started = descendants(run.pid);
  // npm, the CLI, the coordinator, the fleet's child processes, a Chromium and its helpers.
  expect(started.length).toBeGreaterThan(5);
  process.kill(-run.pid, 'SIGINT');
  const { code, stdout } = await run.done;
  expect(code).toBe(130);
  expect(stdout).toMatch(/outcome\s+interrupted/);
  const record = JSON.parse(fs.readFileSync(path.join(out, 'record.json'), 'utf8')) as SimulationRecord;
  expect(record.summary.outcome).toBe('interrupted');
  expect(record.summary.ledger?.countedTwice).toBe(0);
  expect(fs.existsSync(path.join(out, 'report.html'))).toBe(true);
  await expect.poll(() => started.filter(alive), { timeout: 15_000 }).toEqual([]);
});
