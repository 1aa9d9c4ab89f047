/**
 * For the tests that drive a real coordinator's job with simulated volunteers (checkpoint rounds,
 * training-health alarms): the coordinator with its job, and the volunteers, closed once each
 * test ends, whatever happened.
 */
import { afterEach, expect } from 'vitest';
import type { JobInfo } from '@tabswarm/protocol';
import { SimVolunteer, type SimVolunteerOptions } from '../sim/sim-volunteer.ts';
import { api, startServer, type RunningServer } from '../test-support.ts';

export interface SimJobs {
  /**
   * A coordinator (heartbeats every second, a minute before a volunteer times out) with the job
   * `spec`, its checkpoint 0 written and evaluated.
   */
  readonly setup: (spec: object) => Promise<{ r: RunningServer; job: JobInfo }>;
  /** A simulated volunteer that joined the coordinator at `url`. */
  readonly sim: (url: string, options?: SimVolunteerOptions) => Promise<SimVolunteer>;
}

export function useSimJobs(): SimJobs {
  let running: RunningServer | undefined;
  const sims: SimVolunteer[] = [];
  afterEach(async () => {
    sims.splice(0).forEach((s) => s.close());
    await running?.close();
    running = undefined;
  });
  return {
    setup: async (spec) => {
      const r = await startServer({ heartbeatTimeoutMs: 60_000, heartbeatIntervalMs: 1_000 });
      running = r;
      const res = await api<{ job: JobInfo }>(`${r.url}/api/jobs`, { body: spec });
      expect(res.status).toBe(201);
      await r.server.checkpoints().idle();
      return { r, job: res.body.job };
    },
    sim: async (url, options) => {
      const s = new SimVolunteer(url, options);
      sims.push(s);
      await s.join();
      return s;
    },
  };
}
