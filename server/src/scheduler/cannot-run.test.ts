// A volunteer that cannot run a job (its model fails to build or train on the volunteer's backend,
// e.g. a CNN on TensorFlow.js's WebAssembly backend, which lacks Conv2DBackpropFilter) says so when
// it gives the lease back; it is offered that job no more — not a lease taken and given back every
// second for good — while others are, and while it may still run other jobs.
import { afterEach, describe, expect, it } from 'vitest';
import type { LeaseGrant } from './types.ts';
import { MAX_JOBS_A_VOLUNTEER_CANNOT_RUN } from './scheduler.ts';
import { schedulerFixture, spec, type SchedulerFixture } from './test-fixture.ts';
import { api, connected, joinVolunteer, request, serversClosedAfterEach } from '../test-support.ts';

let f: SchedulerFixture | undefined;
afterEach(() => f?.store.close());

describe('Scheduler.excludeJob', () => {
  it('skips the excluded job for that volunteer only', () => {
    f = schedulerFixture();
    const fixture = f;
    const cnn = fixture.scheduler.createJob(spec(), 100);
    const mlp = fixture.scheduler.createJob(spec(), 100);
    const jobsLeased = (nodes: string[]): string[] =>
      nodes.map((n) => (fixture.scheduler.requestLease(n) as LeaseGrant).jobId);
    fixture.scheduler.excludeJob('wasm-tab', cnn.id);
    expect(new Set(jobsLeased(['wasm-tab', 'wasm-tab', 'wasm-tab']))).toEqual(new Set([mlp.id]));
    // Others are offered both jobs (the fair share alternates between them).
    expect(jobsLeased(['gpu-1', 'gpu-2', 'gpu-3', 'gpu-4'])).toContain(cnn.id);
  });

  it('offers nothing to a volunteer that cannot run the only job, until it leaves', () => {
    f = schedulerFixture();
    const job = f.scheduler.createJob(spec(), 100);
    f.scheduler.excludeJob('wasm-tab', job.id);
    expect(f.scheduler.requestLease('wasm-tab')).toBeNull();
    f.scheduler.releaseNode('wasm-tab');
    expect(f.scheduler.requestLease('wasm-tab')?.jobId).toBe(job.id);
  });

  it('remembers a bounded number of jobs per volunteer, whatever it claims', () => {
    f = schedulerFixture();
    const job = f.scheduler.createJob(spec(), 100);
    f.scheduler.excludeJob('n', job.id);
    for (let i = 0; i < MAX_JOBS_A_VOLUNTEER_CANNOT_RUN; i++) f.scheduler.excludeJob('n', `job-claimed-${i}`);
    // The real job was the oldest claim: forgotten, so it is offered again.
    expect(f.scheduler.requestLease('n')?.jobId).toBe(job.id);
  });
});

describe('releaseLease with cannotRun over the volunteer socket', () => {
  const start = serversClosedAfterEach();

  it('offers the job to that volunteer no more, logs why, and keeps offering it to others', async () => {
    const running = await start();
    const created = await api<{ job: { id: string } }>(`${running.url}/api/jobs`, {
      body: { name: 'cnn', model: { kind: 'preset', preset: 'mnist-cnn' } },
    });
    expect(created.status).toBe(201);
    const wasm = running.volunteer();
    const gpu = running.volunteer();
    await Promise.all([connected(wasm), connected(gpu)]);
    await joinVolunteer(wasm);
    await joinVolunteer(gpu);
    const leased = await request<{ lease: { leaseId: string } | null }>(wasm, 'requestLease', {});
    if (!leased.ok || leased.lease === null) throw new Error('no lease');
    const released = await request(wasm, 'releaseLease', {
      leaseId: leased.lease.leaseId,
      reason: "could not load job on wasm: Kernel 'Conv2DBackpropFilter' not registered",
      cannotRun: true,
    });
    expect(released.ok).toBe(true);
    const again = await request<{ lease: unknown }>(wasm, 'requestLease', {});
    expect(again.ok && again.lease).toBeNull();
    const other = await request<{ lease: { jobId: string } | null }>(gpu, 'requestLease', {});
    expect(other.ok && other.lease?.jobId).toBe(created.body.job.id);
    const log = await api<{ events: { kind: string; message: string; jobId: string | null }[] }>(
      `${running.url}/api/events`,
    );
    const logged = log.body.events.find((e) => e.kind === 'error' && e.jobId === created.body.job.id);
    expect(logged?.message).toContain('cannot run this job');
    expect(logged?.message).toContain('Conv2DBackpropFilter');
  });

  it('a release without cannotRun leaves the job on offer to the same volunteer', async () => {
    const running = await start();
    await api(`${running.url}/api/jobs`, { body: { name: 'mlp' } });
    const tab = running.volunteer();
    await connected(tab);
    await joinVolunteer(tab);
    const leased = await request<{ lease: { leaseId: string } | null }>(tab, 'requestLease', {});
    if (!leased.ok || leased.lease === null) throw new Error('no lease');
    await request(tab, 'releaseLease', {
      leaseId: leased.lease.leaseId,
      reason: 'SHARD_UNAVAILABLE: HTTP 503',
    });
    const again = await request<{ lease: unknown }>(tab, 'requestLease', {});
    expect(again.ok && again.lease).not.toBeNull();
  });
});
