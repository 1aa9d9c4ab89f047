/**
 * Regression cases the socket.io fuzzing found: a request sent with no payload or with more than
 * one argument went unanswered (the ack, which socket.io always passes last, was taken for the
 * payload or ignored), so the client waited out its timeout instead of getting a coded refusal.
 */
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '@tabswarm/protocol';
import { closedAfterEach, joinVolunteer, startServer, type RunningServer } from '../test-support.ts';

const track = closedAfterEach<RunningServer>();

describe('requests with the wrong number of arguments', () => {
  it('are refused with a coded BAD_REQUEST, not left unanswered', async () => {
    const running = track(await startServer());
    const volunteer = running.volunteer();
    await joinVolunteer(volunteer);
    const ask = (event: string, ...args: unknown[]): Promise<unknown> =>
      volunteer.timeout(2_000).emitWithAck(event as 'heartbeat', ...(args as [never]));

    await expect(ask('heartbeat')).resolves.toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    await expect(ask('requestLease')).resolves.toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    await expect(ask('relay')).resolves.toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    await expect(ask('heartbeat', { state: 'working', uptimeS: 1 }, 'extra')).resolves.toMatchObject({
      ok: false,
      code: 'BAD_REQUEST',
    });
    // One payload, as ever, is answered.
    await expect(ask('heartbeat', { state: 'working', uptimeS: 1 })).resolves.toMatchObject({ ok: true });

    const dashboard = running.dashboard();
    const subscribe = (...args: unknown[]): Promise<unknown> =>
      dashboard.timeout(2_000).emitWithAck('subscribe', ...(args as [never]));
    await expect(subscribe()).resolves.toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    await expect(subscribe({ protocolVersion: PROTOCOL_VERSION })).resolves.toMatchObject({ ok: true });
  });
});
