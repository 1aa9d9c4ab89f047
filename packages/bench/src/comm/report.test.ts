import { describe, expect, it } from 'vitest';
import { commMarkdown, commRows, type CommData } from './report.ts';
import type { CommRun } from './run.ts';
import { COMM_GOAL, FULL_WORKLOAD, REFERENCE, REFERENCE_AGAIN } from './settings.ts';

const run = (setting: string, bytes: number, accuracy: number): CommRun => ({
  setting,
  samples: 16_000,
  shards: 125,
  bytesSent: (bytes * 16_000) / 1000,
  bytesReceived: (bytes * 16_000) / 1000,
  bytesPerVolunteerPer1000Samples: bytes,
  exchangesApplied: 10,
  accuracy,
  seconds: 60,
});

const data = (runs: CommRun[], errors: CommData['errors'] = []): CommData => ({
  workload: FULL_WORKLOAD,
  goal: COMM_GOAL,
  rows: commRows(runs),
  errors,
});

describe('the communication part’s report', () => {
  it('states each setting against the reference and finds the cheapest that meets the goal', () => {
    const { rows } = data([
      run(REFERENCE.name, 1_000_000, 0.95),
      run('int8', 250_000, 0.951),
      run('outer ×16, top-k', 8_000, 0.946), // 1/125 of the bytes, −0.4 points: meets
      run('outer ×16, int8', 9_000, 0.94), // −1 point: misses
      run('outer ×1, int8', 20_000, 0.95), // 1/50 of the bytes: misses
      run(REFERENCE_AGAIN.name, 1_000_000, 0.948),
    ]);
    expect(rows.map((r) => r.meetsGoal)).toEqual([false, false, true, false, false, false]);
    expect(rows[2]?.bytesVsReference).toBeCloseTo(0.008);
    expect(rows[2]?.accuracyPoints).toBeCloseTo(-0.4);
    const markdown = commMarkdown({ workload: FULL_WORKLOAD, goal: COMM_GOAL, rows, errors: [] });
    expect(markdown).toContain('met by outer ×16, top-k —');
    expect(markdown).toContain('| outer ×16, top-k');
    expect(markdown).toContain('1/125');
    expect(markdown).toContain('compare its two rows');
  });

  it('judges each setting by its median over the repetitions, shown with min–max', () => {
    const { rows } = data([
      run(REFERENCE.name, 1_000_000, 0.95),
      run('outer ×16, top-k', 9_000, 0.9),
      run(REFERENCE.name, 1_200_000, 0.94),
      run('outer ×16, top-k', 8_000, 0.945),
      run(REFERENCE.name, 1_100_000, 0.96),
      run('outer ×16, top-k', 7_000, 0.948),
    ]);
    expect(rows.map((r) => r.setting)).toEqual([REFERENCE.name, 'outer ×16, top-k']);
    expect(rows[0]?.accuracy).toMatchObject({ median: 0.95, min: 0.94, max: 0.96, repetitions: 3 });
    // Medians: 8,000 / 1,100,000 of the bytes, 94.5 % against 95 %: within the goal.
    expect(rows[1]?.bytesVsReference).toBeCloseTo(8_000 / 1_100_000);
    expect(rows[1]?.accuracyPoints).toBeCloseTo(-0.5);
    expect(rows[1]?.meetsGoal).toBe(true);
    const markdown = commMarkdown({ workload: FULL_WORKLOAD, goal: COMM_GOAL, rows, errors: [] });
    expect(markdown).toContain('94.5 % (90.0–94.8)');
    expect(markdown).toContain('3 run(s) per setting');
  });

  it('says when no setting meets the goal, and names the runs that failed', () => {
    const markdown = commMarkdown(
      data(
        [run(REFERENCE.name, 1_000_000, 0.95), run('fp16', 500_000, 0.95)],
        [{ setting: 'top-k 1 %', message: 'timed out' }],
      ),
    );
    expect(markdown).toContain('not met by any setting');
    expect(markdown).toContain('- top-k 1 % failed: timed out');
    expect(markdown).not.toContain('compare its two rows');
  });
});
