import { describe, expect, it } from 'vitest';
import { TrainerError } from './errors.ts';
import { FakeCoordinator, grant } from './test-fakes.ts';
import { LeaseReports } from './lease-reports.ts';
import { TrainerState, type ActiveLease } from './trainer-status.ts';

const completion = { leaseId: 'lease-0000000000000001', loss: 0.5, samples: 8, durationMs: 20 };

function reports(coordinator = new FakeCoordinator()) {
  const state = new TrainerState();
  return {
    coordinator,
    state,
    r: new LeaseReports({
      coordinator,
      state,
      sleep: () => Promise.resolve(),
      completionDelaysMs: [0, 1, 1],
    }),
  };
}

describe('LeaseReports', () => {
  it('resends a completion while the coordinator is unreachable', async () => {
    const h = reports();
    h.coordinator.completeFailures = 2;
    expect(await h.r.complete(completion)).toEqual({ counted: true, duplicate: false });
  });

  it('gives up at once when the coordinator refuses, and says so', async () => {
    const coordinator = new FakeCoordinator();
    let attempts = 0;
    coordinator.completeLease = () => {
      attempts++;
      return Promise.reject(new TrainerError('COORDINATOR_REFUSED', 'UNKNOWN_LEASE'));
    };
    const h = reports(coordinator);
    expect(await h.r.complete(completion)).toEqual({ counted: false, duplicate: false });
    expect(attempts).toBe(1);
  });

  it('releases a lease once', async () => {
    const h = reports();
    const lease: ActiveLease = {
      grant: grant('job-a'),
      issuedAt: 0,
      stepsDone: 0,
      steps: 0,
      cancelled: null,
      settled: false,
      progressAt: 0,
    };
    await h.r.release(lease, 'first');
    await h.r.release(lease, 'second');
    expect(h.coordinator.releases.map((r) => r.reason)).toEqual(['first']);
    expect(h.state.status.releasedLeases).toBe(1);
  });
});
