import { describe, expect, it, vi } from 'vitest';
import { PROTOCOL_VERSION, type JobInfo, type LeaseGrantInfo } from '@tabswarm/protocol';
import {
  closedAfterEach,
  api,
  joinVolunteer,
  request,
  startServer,
  type RunningServer,
} from '../test-support.ts';

const track = closedAfterEach<RunningServer>();

const smallJob = { name: 'digits', training: { batchSize: 100, localSteps: 10, epochs: 1 } };

async function createJob(running: RunningServer, spec: unknown = smallJob): Promise<JobInfo> {
  const res = await api<{ job: JobInfo }>(`${running.url}/api/jobs`, { body: spec });
  expect(res.status).toBe(201);
  await running.server.checkpoints().idle(); // checkpoint 0's evaluation runs in the background
  return res.body.job;
}

function jobStateSnapshot(r: RunningServer): string {
  return JSON.stringify(r.server.jobs.list().map((j) => ({ ...j, activeLeases: j.activeLeases })));
}

describe('jobs REST API', () => {
  it('creates a job on the built-in MNIST with defaults, lists it and gets it', async () => {
    const running = track(await startServer());
    const job = await createJob(running);
    expect(job).toMatchObject({
      name: 'digits',
      status: 'queued',
      trainSize: 8000,
      shardSize: 1000,
      shardCount: 8,
      totalShards: 8,
      spec: { dataset: 'mnist', training: { optimizer: { type: 'adam' } } },
    });
    expect(
      (await api<{ jobs: JobInfo[] }>(`${running.url}/api/jobs`, { token: null })).body.jobs,
    ).toHaveLength(1);
    const got = await api<{ job: JobInfo }>(`${running.url}/api/jobs/${job.id}`, { token: null });
    expect(got.body.job.id).toBe(job.id);
  });

  it('pauses, resumes and cancels, and refuses impossible transitions with 409', async () => {
    const running = track(await startServer());
    const job = await createJob(running);
    const base = `${running.url}/api/jobs/${job.id}`;
    expect((await api<{ job: JobInfo }>(`${base}/pause`, { method: 'POST' })).body.job.status).toBe('paused');
    expect((await api(`${base}/pause`, { method: 'POST' })).status).toBe(409);
    expect((await api<{ job: JobInfo }>(`${base}/resume`, { method: 'POST' })).body.job.status).toBe(
      'queued',
    );
    expect((await api<{ job: JobInfo }>(`${base}/cancel`, { method: 'POST' })).body.job.status).toBe(
      'cancelled',
    );
    expect((await api(`${base}/resume`, { method: 'POST' })).status).toBe(409);
  });

  it('rejects bad input with a 4xx and a reason, and changes nothing', async () => {
    const running = track(await startServer());
    const job = await createJob(running);
    const before = jobStateSnapshot(running);
    const url = running.url;
    const cases: [string, Parameters<typeof api>[1], number, RegExp][] = [
      ['/api/jobs', { body: smallJob, token: null }, 401, /operator token/],
      ['/api/jobs', { body: smallJob, token: 'wrong-token-wrong-token' }, 403, /wrong/],
      ['/api/jobs', { body: '{"name": ', contentType: 'application/json' }, 400, /not valid JSON/],
      ['/api/jobs', { body: 'name=x', contentType: 'text/plain' }, 415, /application\/json/],
      ['/api/jobs', { body: { name: 'x', training: { learningRate: -1 } } }, 400, /training\.learningRate/],
      ['/api/jobs', { body: { name: 'x', dataset: 'nope' } }, 400, /no dataset "nope"/],
      ['/api/jobs', { body: { name: 'x'.repeat(600_000) } }, 413, /too large/],
      ['/api/jobs', { body: [1, 2, 3] }, 400, /./],
      [`/api/jobs/${job.id}/pause`, { method: 'POST', token: null }, 401, /operator token/],
      [`/api/jobs/job-000000000000/pause`, { method: 'POST' }, 404, /no job/],
      [`/api/jobs/..%2F..%2Fetc/pause`, { method: 'POST' }, 404, /./],
      [`/api/jobs/job-000000000000`, {}, 404, /no job/],
      [`/api/nope`, {}, 404, /no such API endpoint/],
    ];
    for (const [path, options, status, message] of cases) {
      const res = await api<{ ok: boolean; code: string; message: string }>(`${url}${path}`, options);
      expect(res.status, `${path} ${JSON.stringify(options).slice(0, 60)}`).toBe(status);
      expect(res.body.ok).toBe(false);
      expect(res.body.message).toMatch(message);
    }
    expect(jobStateSnapshot(running)).toBe(before);
    expect(running.server.jobs.list()).toHaveLength(1);
  });
});

describe('leases over socket.io', () => {
  it('hands out shards, counts completions once, and shows progress to dashboards and /metrics', async () => {
    const running = track(await startServer());
    const job = await createJob(running, {
      name: 'one epoch',
      training: { batchSize: 100, localSteps: 20, epochs: 1 },
    });
    const dashboard = running.dashboard();
    const jobUpdates: JobInfo[] = [];
    dashboard.on('jobUpdate', (j) => jobUpdates.push(j));
    await request(dashboard, 'subscribe', { protocolVersion: PROTOCOL_VERSION });

    const volunteer = running.volunteer();
    await joinVolunteer(volunteer);
    const seen: number[] = [];
    for (;;) {
      const reply = await request<{ lease: LeaseGrantInfo | null }>(volunteer, 'requestLease', {
        samplesPerSec: 500,
      });
      if (!reply.ok) throw new Error(reply.message);
      if (!reply.lease) break;
      const lease = reply.lease;
      expect(lease.samplesUrl).toBe(
        `/api/datasets/mnist/samples?split=train&start=${lease.start}&end=${lease.end}`,
      );
      seen.push(lease.shard);
      const done = { leaseId: lease.leaseId, loss: 0.3, samples: lease.end - lease.start, durationMs: 12 };
      expect(await request(volunteer, 'completeLease', done)).toEqual({
        ok: true,
        counted: true,
        duplicate: false,
      });
      expect(await request(volunteer, 'completeLease', done)).toEqual({
        ok: true,
        counted: false,
        duplicate: true,
      });
    }
    expect(seen.sort((a, b) => a - b)).toEqual([0, 1, 2, 3]);
    expect(running.server.jobs.get(job.id)).toMatchObject({
      status: 'completed',
      shardsDone: 4,
      samplesDone: 8000,
    });
    await vi.waitFor(() => expect(jobUpdates.at(-1)).toMatchObject({ id: job.id, status: 'completed' }));

    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    expect(metrics).toContain(`tabswarm_leases_total{job="${job.id}",event="issued"} 4`);
    expect(metrics).toContain(`tabswarm_leases_total{job="${job.id}",event="completed"} 4`);
    expect(metrics).toContain(`tabswarm_shards_done_total{job="${job.id}"} 4`);
    expect(metrics).not.toMatch(/tabswarm_leases_total\{[^}]*node/);
  });

  it('with samplesPerEpoch, an epoch is the first samples of the split, and the job completes after them', async () => {
    const running = track(await startServer());
    const job = await createJob(running, {
      name: 'a budget',
      training: { batchSize: 100, localSteps: 10, epochs: 2, samplesPerEpoch: 2_500 },
    });
    expect(job).toMatchObject({ trainSize: 2_500, shardSize: 1_000, shardCount: 3, totalShards: 6 });
    const volunteer = running.volunteer();
    await joinVolunteer(volunteer);
    const ranges: string[] = [];
    for (;;) {
      const reply = await request<{ lease: LeaseGrantInfo | null }>(volunteer, 'requestLease', {});
      if (!reply.ok) throw new Error(reply.message);
      if (!reply.lease) break;
      const { leaseId, start, end } = reply.lease;
      ranges.push(`${start}-${end}`);
      await request(volunteer, 'completeLease', { leaseId, loss: 0.3, samples: end - start, durationMs: 1 });
    }
    expect(ranges.sort()).toEqual(['0-1000', '0-1000', '1000-2000', '1000-2000', '2000-2500', '2000-2500']);
    expect(running.server.jobs.get(job.id)).toMatchObject({ status: 'completed', samplesDone: 5_000 });
    // More than the split holds is the whole split.
    const whole = await createJob(running, { name: 'all', training: { samplesPerEpoch: 1e6 } });
    expect(whole.trainSize).toBe(8_000);
  });

  it('re-queues the shard of a volunteer that disconnects, and rejects bad lease messages', async () => {
    const running = track(await startServer());
    const job = await createJob(running, {
      name: 'x',
      training: { batchSize: 100, localSteps: 40, epochs: 1 },
    });
    const flaky = running.volunteer();
    await joinVolunteer(flaky);
    const first = await request<{ lease: LeaseGrantInfo }>(flaky, 'requestLease', {});
    if (!first.ok) throw new Error(first.message);
    const other = running.volunteer();
    await joinVolunteer(other);
    const before = jobStateSnapshot(running);
    const bad: [string, unknown, string][] = [
      [
        'completeLease',
        { leaseId: first.lease.leaseId, loss: 0.1, samples: 4000, durationMs: 1 },
        'NOT_YOUR_LEASE',
      ],
      [
        'completeLease',
        { leaseId: 'lease-0000000000000000', loss: 0.1, samples: 1, durationMs: 1 },
        'UNKNOWN_LEASE',
      ],
      [
        'completeLease',
        { leaseId: first.lease.leaseId, loss: Number.NaN, samples: 1, durationMs: 1 },
        'BAD_REQUEST',
      ],
      [
        'completeLease',
        { leaseId: "'; DROP TABLE leases; --", loss: 1, samples: 1, durationMs: 1 },
        'BAD_REQUEST',
      ],
      ['requestLease', { samplesPerSec: -5 }, 'BAD_REQUEST'],
      ['releaseLease', { leaseId: first.lease.leaseId }, 'NOT_YOUR_LEASE'],
    ];
    for (const [event, payload, code] of bad) {
      expect(await request(other, event, payload), event).toMatchObject({ ok: false, code });
    }
    // Too many samples for the shard, even from its owner.
    expect(
      await request(flaky, 'completeLease', {
        leaseId: first.lease.leaseId,
        loss: 0.1,
        samples: 999_999,
        durationMs: 1,
      }),
    ).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(jobStateSnapshot(running)).toBe(before);

    flaky.disconnect();
    await vi.waitFor(() => expect(running?.server.jobs.get(job.id).activeLeases).toBe(0));
    const again = await request<{ lease: LeaseGrantInfo }>(other, 'requestLease', {});
    expect(again.ok && again.lease.shard).toBe(first.lease.shard);
  });
});
