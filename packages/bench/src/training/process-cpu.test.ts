import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { canMeasureCpu, childPids, treeCpuSeconds } from './process-cpu.ts';

describe.skipIf(!canMeasureCpu())('process tree CPU from /proc', () => {
  it('counts a grandchild that burns CPU in its root child', async () => {
    // A shell whose own child spins for 0.5 s of CPU and stays alive (so no reaped-child time in
    // the shell's counters): only a walk below the root sees it.
    const burn =
      'const end = process.cpuUsage().user + 500000; while (process.cpuUsage().user < end) {} setTimeout(() => {}, 8000)';
    const child = spawn('sh', ['-c', `"${process.execPath}" -e '${burn}'`], { stdio: 'ignore' });
    try {
      const pid = child.pid as number;
      expect(childPids()).toContain(pid);
      let seconds = 0;
      for (let i = 0; i < 60 && seconds < 0.4; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        seconds = treeCpuSeconds([pid]).get(pid) ?? 0;
      }
      expect(seconds).toBeGreaterThanOrEqual(0.4);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
