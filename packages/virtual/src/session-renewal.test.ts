// Session tokens expire (issue 16 part 2): a volunteer keeps working past its first token's
// expiry because heartbeats renew it and its FedAvg uploads present the token it holds now. Two
// virtual volunteers train a FedAvg job against a coordinator whose tokens last 4 s (heartbeats
// every second); every upload is watched. Uploads made well after the join token expired are
// accepted, none is refused for its credential, and each volunteer's token is no longer the one
// it joined with. (With uploads still carrying the join token, every one from the fifth second
// on is refused with 401, no round completes, and the wait for late accepted uploads times out.)
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryNetwork } from '@tabswarm/gossip';
import { mnistMlpJob } from './operator-client.ts';
import { until, useTestCoordinator } from './test-coordinator.ts';
import { VirtualVolunteer } from './virtual-volunteer.ts';

const TTL_MS = 4_000;
const coordinator = useTestCoordinator('session-renewal', {
  heartbeatIntervalMs: 1_000,
  sessionTtlMs: TTL_MS,
});

interface Upload {
  readonly at: number;
  readonly status: number;
}

describe('session token renewal', () => {
  let volunteers: VirtualVolunteer[] = [];
  afterEach(async () => {
    await Promise.all(volunteers.map((v) => v.stop()));
    volunteers = [];
  });

  it('FedAvg uploads keep being accepted long after the join token expired', async () => {
    const job = await coordinator.operator.createJob(
      mnistMlpJob('session renewal', {
        targetAccuracy: null,
        epochs: 20,
        localSteps: 2,
        averaging: { mode: 'fedavg', roundDeadlineMs: 3_000 },
      }),
    );
    const uploads: Upload[] = [];
    const watched: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const url = input instanceof Request ? input.url : input.toString();
      if (url.endsWith('/fedavg/uploads')) uploads.push({ at: Date.now(), status: res.status });
      return res;
    };
    const network = new MemoryNetwork();
    volunteers = ['a', 'b'].map(
      (label) =>
        new VirtualVolunteer({
          baseUrl: coordinator.url,
          network,
          backend: 'cpu',
          label,
          compute: 'in-process',
          fetch: watched,
        }),
    );
    await Promise.all(volunteers.map((v) => v.start()));
    const joined = await until('both volunteers to join', 30_000, () =>
      Promise.resolve(
        volunteers.every((v) => v.runtime.accepted !== null)
          ? { at: Date.now(), tokens: volunteers.map((v) => v.runtime.accepted?.peerjs.token) }
          : null,
      ),
    );
    // Twice the lifetime past the join: the join tokens are long expired by then.
    const late = joined.at + 2 * TTL_MS;
    await until(
      'accepted uploads two token lifetimes after the join',
      60_000,
      () => Promise.resolve(uploads.filter((u) => u.at > late && u.status === 200).length >= 4 ? true : null),
      { state: async () => ({ uploads, job: await coordinator.operator.getJob(job.id) }) },
    );
    const refused = uploads.filter((u) => u.status === 401 || u.status === 403);
    console.log(
      `[session renewal] ${uploads.length} uploads, ${uploads.filter((u) => u.at > late).length} after ${2 * TTL_MS} ms, refused ${refused.length}`,
    );
    expect(refused).toEqual([]);
    const now = volunteers.map((v) => v.runtime.accepted?.peerjs.token);
    now.forEach((token, i) => expect(token).not.toBe(joined.tokens[i]));
  }, 90_000);
});
