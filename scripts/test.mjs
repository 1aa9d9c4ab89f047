// `npm test`: install what is missing (Chromium included), then lint, typecheck, unit, browser
// and end-to-end tests. Every step runs even if an earlier one failed, so one run shows every
// problem; the exit code is non-zero when any step failed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, ensureBuilt, ensureChromium, ensureDependencies, ensurePostgres, log, run } from './setup.mjs';

const REPORTS = path.join(ROOT, '.reports');

ensurePostgres();
ensureDependencies();
ensureChromium();
// The postgres project fails, rather than skips, when its server cannot start.
process.env.TABSWARM_REQUIRE_POSTGRES = '1';
fs.rmSync(REPORTS, { recursive: true, force: true });
fs.mkdirSync(REPORTS, { recursive: true });

// The unit project's files run side by side, two at a time at least (410 s against 556 s one at a
// time on 2 cores). The swarm project's (virtual volunteers in this process, training against a
// coordinator) keep vitest's default, one file at a time on 2 cores: their timing does not survive
// another file's threads holding the cores (a volunteer that never got to average failed once in
// three such runs; with two at a time, the outer-optimizer and CSV swarm tests both failed).
const vitest = (project, workers = null) => [
  'npx',
  [
    'vitest',
    'run',
    '--project',
    project,
    ...(workers === null ? [] : [`--maxWorkers=${workers}`]),
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${path.join(REPORTS, `${project}.json`)}`,
  ],
];
// Steps with the same `together` run side by side (their output is printed whole, one step after
// another, when all are done): the static checks (each one process on one core), and the unit and
// PostgreSQL tests. The other tests run one step at a time.
const steps = [
  { name: 'lint', cmd: ['npx', ['eslint', '.', '--max-warnings=0']], together: 'static' },
  { name: 'format', cmd: ['npx', ['prettier', '--check', '.', '--log-level', 'warn']], together: 'static' },
  { name: 'typecheck', cmd: ['npx', ['tsc', '-b']], together: 'static' },
  // The PostgreSQL project runs beside the unit tests: it waits on database round trips (a
  // quarter of a core for its 5 minutes), so side by side costs the unit tests little.
  {
    name: 'unit',
    cmd: vitest('unit', Math.max(2, os.availableParallelism() - 1)),
    report: 'unit.json',
    together: 'tests',
  },
  { name: 'postgres', cmd: vitest('postgres'), report: 'postgres.json', together: 'tests' },
  { name: 'swarm', cmd: vitest('swarm'), report: 'swarm.json' },
  { name: 'browser', cmd: vitest('browser'), report: 'browser.json' },
  { name: 'build', run: () => (ensureBuilt({ force: true }), 0) },
  { name: 'e2e', cmd: ['npx', ['playwright', 'test']], report: 'e2e.json' },
];

function countTests(file) {
  const full = path.join(REPORTS, file);
  if (!fs.existsSync(full)) return null;
  const report = JSON.parse(fs.readFileSync(full, 'utf8'));
  if (report.stats) {
    // Playwright: flaky tests passed on retry but still count as passed here, and are shown.
    const { expected = 0, unexpected = 0, flaky = 0, skipped = 0 } = report.stats;
    return { passed: expected + flaky, failed: unexpected, skipped };
  }
  return {
    passed: report.numPassedTests ?? 0,
    failed: report.numFailedTests ?? 0,
    skipped: report.numPendingTests ?? 0,
  };
}

/** Runs a command with its output collected; resolves with its status, output and seconds. */
function runCollected(command, args) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (d) => chunks.push(d));
    child.stderr.on('data', (d) => chunks.push(d));
    const done = (status) =>
      resolve({ status, output: Buffer.concat(chunks).toString(), seconds: (Date.now() - started) / 1000 });
    child.on('error', (error) => {
      chunks.push(Buffer.from(`could not run ${command}: ${error.message}\n`));
      done(1);
    });
    child.on('close', (code) => done(code ?? 1));
  });
}

const results = [];
for (let i = 0; i < steps.length;) {
  const step = steps[i];
  if (step.together !== undefined) {
    let end = i;
    while (end < steps.length && steps[end].together === step.together) end++;
    const batch = steps.slice(i, end);
    log(`── ${batch.map((s) => s.name).join(', ')} (side by side) ──`);
    const outcomes = await Promise.all(batch.map((s) => runCollected(s.cmd[0], s.cmd[1])));
    batch.forEach((s, k) => {
      const { status, output, seconds } = outcomes[k];
      log(`── ${s.name} ──`);
      if (output.trim() !== '') process.stdout.write(output.endsWith('\n') ? output : `${output}\n`);
      results.push({ ...s, status, seconds, counts: s.report ? countTests(s.report) : null });
    });
    i = end;
    continue;
  }
  log(`── ${step.name} ──`);
  const started = Date.now();
  const status = step.run ? step.run() : run(step.cmd[0], step.cmd[1]);
  results.push({
    ...step,
    status,
    seconds: (Date.now() - started) / 1000,
    counts: step.report ? countTests(step.report) : null,
  });
  i++;
}

let passed = 0;
let failed = 0;
let skipped = 0;
console.log('\nstep        result   time     tests');
for (const r of results) {
  const tests = r.counts
    ? `${r.counts.passed} passed, ${r.counts.failed} failed, ${r.counts.skipped} skipped`
    : '';
  console.log(
    `${r.name.padEnd(11)} ${(r.status === 0 ? 'ok' : 'FAILED').padEnd(8)} ${`${r.seconds.toFixed(0)}s`.padEnd(8)} ${tests}`,
  );
  if (r.counts) {
    passed += r.counts.passed;
    failed += r.counts.failed;
    skipped += r.counts.skipped;
  }
}
// CI shows only the tail of the output: name each failed test there, with its first message line.
function failedTests(file) {
  const full = path.join(REPORTS, file);
  if (!fs.existsSync(full)) return [];
  const report = JSON.parse(fs.readFileSync(full, 'utf8'));
  const out = [];
  if (report.testResults) {
    for (const suite of report.testResults) {
      for (const t of suite.assertionResults ?? []) {
        if (t.status !== 'failed') continue;
        const message = String(t.failureMessages?.[0] ?? '').split('\n')[0];
        out.push(`${path.relative(ROOT, suite.name)} › ${t.fullName}\n    ${message.slice(0, 300)}`);
      }
    }
  }
  const walk = (suites, file) => {
    for (const s of suites ?? []) {
      for (const spec of s.specs ?? []) {
        for (const t of spec.tests ?? []) {
          if (t.status !== 'unexpected') continue;
          const last = t.results?.at(-1);
          const message = String(last?.error?.message ?? '').split('\n')[0];
          out.push(`${s.file ?? file} › ${spec.title}\n    ${message.slice(0, 300)}`);
        }
      }
      walk(s.suites, s.file ?? file);
    }
  };
  if (report.suites) walk(report.suites, '');
  return out;
}

const failedNames = results.flatMap((r) => (r.report ? failedTests(r.report) : []));
if (failedNames.length > 0) console.log(`\nfailed tests:\n${failedNames.map((n) => `  ${n}`).join('\n')}`);

const failedSteps = results.filter((r) => r.status !== 0);
// A failed step with no failed test (a lint error, a crash) still counts as a failure.
if (failedSteps.length > 0 && failed === 0) failed = failedSteps.length;
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failedSteps.length > 0 ? 1 : 0);
