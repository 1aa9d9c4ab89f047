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

function simulate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'simulate', '--', ...args], {
      cwd: path.resolve(import.meta.dirname, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

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
  ]);
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
  const at = (kind: string): number => record.faults.find((f) => f.kind === kind && f.ok)?.progress ?? -1;
  expect(at('partition')).toBeGreaterThanOrEqual(0.1);
  expect(at('heal')).toBeGreaterThan(at('partition'));
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
