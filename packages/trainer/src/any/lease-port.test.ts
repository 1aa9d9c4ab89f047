// The lease port's reading of the coordinator's refusals: what the trainer retries (as after a
// lost connection) and what it reports as refused.
import { describe, expect, it } from 'vitest';
import type { CoordinatorConnection } from './coordinator-connection.ts';
import { leasePort } from './volunteer-runtime.ts';

const refusing = (code: string): CoordinatorConnection =>
  ({
    requestLease: () => Promise.resolve({ ok: false, code, message: `${code} for the test` }),
  }) as unknown as CoordinatorConnection;

describe('leasePort', () => {
  it('takes RATE_LIMITED as a wait to retry, like a lost connection', async () => {
    await expect(leasePort(() => refusing('RATE_LIMITED')).requestLease({})).rejects.toMatchObject({
      code: 'COORDINATOR_UNAVAILABLE',
    });
  });

  it('reports other refusals as refused', async () => {
    await expect(leasePort(() => refusing('DISTRUSTED')).requestLease({})).rejects.toMatchObject({
      code: 'COORDINATOR_REFUSED',
    });
  });
});
