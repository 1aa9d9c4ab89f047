import { describe, expect, it } from 'vitest';
import { closedAfterEach, joinVolunteer, request, startServer, type RunningServer } from './test-support.ts';

const track = closedAfterEach<RunningServer>();

describe('serve() request timing', () => {
  it('observes every request, answered or refused, in the duration histogram by request name', async () => {
    const running = track(await startServer());
    const volunteer = running.volunteer();
    await joinVolunteer(volunteer);
    // No job: the lease request is answered with no lease, and still timed.
    expect(await request(volunteer, 'requestLease', {})).toMatchObject({ ok: true, lease: null });
    expect(await request(volunteer, 'requestLease', {})).toMatchObject({ ok: true });
    expect(await request(volunteer, 'heartbeat', { state: 'bogus' })).toMatchObject({ ok: false });

    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    const count = (request: string): string | undefined =>
      new RegExp(
        `^tabswarm_request_duration_seconds_count\\{namespace="volunteer",request="${request}"\\} (\\d+)$`,
        'm',
      ).exec(metrics)?.[1];
    expect(count('requestLease')).toBe('2');
    expect(count('join')).toBe('1');
    expect(count('heartbeat')).toBe('1');
    expect(metrics).toMatch(
      /^tabswarm_request_duration_seconds_bucket\{le="\+Inf",namespace="volunteer",request="requestLease"\} 2$/m,
    );
  });
});
