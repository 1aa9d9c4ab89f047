/**
 * `npm run bench -- --quick` end to end: every registered part runs, prints its table and lands in
 * the JSON with the machine's description and finite figures. Checks the SHAPE of the output only:
 * the figures of a quick run on a shared machine mean nothing, and no time is ever asserted.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';

const ROOT = path.resolve(import.meta.dirname, '..');

function runBench(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', 'bench', '--', ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

type Json = Record<string, unknown>;
const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const expectTiming = (t: unknown): void => {
  const timing = t as Json;
  for (const key of ['median', 'min', 'max', 'repetitions'])
    expect(isFiniteNumber(timing[key]), key).toBe(true);
};

test('a bad option is refused with exit status 2 and a message', async () => {
  const { code, stderr } = await runBench(['--repetitions', 'many']);
  expect(code).toBe(2);
  expect(stderr).toContain('--repetitions must be a whole number');
});

test('npm run bench -- --quick prints a table per part and writes the JSON with the machine', async () => {
  test.setTimeout(420_000);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tabswarm-bench-'));
  try {
    const help = await runBench(['--help']);
    const block = help.stdout.slice(help.stdout.indexOf('Parts:'), help.stdout.indexOf('Options:'));
    const parts = block
      .split('\n')
      .slice(1)
      .filter((line) => line.trim() !== '' && !line.includes('not yet:'))
      .map((line) => line.trim().split(/\s+/)[0] as string);
    expect(parts).toEqual(
      expect.arrayContaining(['kernels', 'backends', 'transport', 'coordinator', 'comm']),
    );

    const { code, stdout, stderr } = await runBench(['--quick', '--out', out]);
    expect(code, stderr.slice(-4000)).toBe(0);
    for (const part of parts) {
      expect(stdout).toContain(`## ${part}: `);
    }
    expect(stdout.match(/^\|[-:|]+\|$/gm)?.length ?? 0).toBeGreaterThanOrEqual(parts.length);

    const files = fs.readdirSync(out).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const run = JSON.parse(fs.readFileSync(path.join(out, files[0] as string), 'utf8')) as Json;
    const machine = run.machine as Json;
    expect(typeof machine.cpu).toBe('string');
    expect(machine.cores).toBeGreaterThan(0);
    expect(isFiniteNumber(machine.memoryGiB)).toBe(true);
    expect(machine.node).toBe(process.version);
    expect(machine.chromium).toMatch(/^\d+\./);
    const webgpu = machine.webgpu as Json;
    expect(typeof webgpu.adapter).toBe('string');
    expect(typeof webgpu.fallback).toBe('boolean');

    const records = run.parts as Json[];
    expect(records.map((r) => r.part)).toEqual(parts);
    for (const record of records) expect(record.status, String(record.error)).toBe('ok');
    const data = (name: string): Json => records.find((r) => r.part === name)?.data as Json;

    const kernels = data('kernels');
    expect((kernels.copy as Json[]).length).toBeGreaterThan(0);
    for (const c of kernels.copy as Json[]) expect(isFiniteNumber(c.GBps)).toBe(true);
    for (const k of kernels.kernels as Json[]) {
      expectTiming(k.oursMs);
      expect(isFiniteNumber(k.oursGBps) && isFiniteNumber(k.fractionOfCopy)).toBe(true);
      if (k.memoryBound === true) expect(typeof k.goalMet).toBe('boolean');
    }

    const backends = data('backends');
    const figures = backends.figures as Json[];
    expect(new Set(figures.map((f) => f.backend))).toEqual(new Set(['webgpu', 'webgl', 'wasm', 'cpu']));
    expect(new Set(figures.map((f) => f.preset))).toEqual(new Set(['mnist-mlp', 'mnist-cnn', 'gpt-nano']));
    for (const f of figures) {
      if (f.error !== null) continue;
      expectTiming(f.msPerStep);
      expectTiming(f.samplesPerSecond);
    }

    const transport = data('transport');
    const throughput = transport.throughput as Json[];
    expect(throughput.some((t) => t.peerjs === true) && throughput.some((t) => t.swarmDefault === true)).toBe(
      true,
    );
    for (const t of throughput) {
      expectTiming(t.ms);
      expect(isFiniteNumber(t.vsPeerJs)).toBe(true);
    }
    expect((transport.codecs as Json[]).map((c) => c.codec)).toEqual(['fp32', 'fp16', 'int8', 'topk']);
    for (const c of transport.codecs as Json[]) expectTiming(c.ms);
    expect(typeof transport.goalMet).toBe('boolean');

    const coordinator = data('coordinator');
    const steps = coordinator.steps as Json[];
    expect(steps.length).toBeGreaterThan(0);
    expect(steps[0]?.volunteers).toBe(50);
    for (const s of steps) {
      expect(isFiniteNumber(s.leasesPerSecond) && s.leasesPerSecond > 0).toBe(true);
      expect(isFiniteNumber(s.leaseP99Ms)).toBe(true);
    }
    expect(typeof coordinator.stoppedBecause).toBe('string');

    const comm = data('comm');
    const rows = comm.rows as Json[];
    expect(rows.map((r) => r.setting)).toEqual(['fp32, every shard (reference)', 'outer ×4, int8']);
    for (const r of rows) {
      expectTiming(r.bytesPerVolunteerPer1000Samples);
      expectTiming(r.accuracy);
      for (const run of r.runs as Json[]) expect(run.samples).toBeGreaterThan(0);
    }
    expect(rows[0]?.bytesVsReference).toBe(1);
    // Bytes, not time: int8 codes every 4th shard put far fewer bytes on the wire per sample.
    expect(rows[1]?.bytesVsReference).toBeLessThan(0.5);

    if (parts.includes('training')) expect(data('training')).toBeTruthy();
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
