import { decodeFrame, frameValues } from '@tabswarm/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from './pacing.ts';
import { jobInfo, jobSpec } from './test-support.ts';
import { FakeApi, FakeCompute, FakeCoordinator, grant } from './test-fakes.ts';
import { pickJob } from './pick-job.ts';
import type { AveragingHook } from './trainer-ports.ts';
import type { TrainerEvent } from './trainer-status.ts';
import { VolunteerTrainer } from './volunteer-trainer.ts';

const spec = jobSpec({ training: { batchSize: 4, localSteps: 2 } });
const running: VolunteerTrainer[] = [];

interface Harness {
  trainer: VolunteerTrainer;
  computes: FakeCompute[];
  coordinator: FakeCoordinator;
  api: FakeApi;
  events: TrainerEvent[];
  until(predicate: (events: TrainerEvent[]) => boolean, what: string): Promise<void>;
}

/**
 * Three shards of job-a; the first compute loses its GPU device during the second (after `first`
 * runs): the lease goes back, a new compute starts, and the third shard is done on it.
 */
async function shardsAcrossADeviceLoss(h: Harness, first?: (compute: FakeCompute) => void) {
  const doomed = grant('job-a', 1);
  h.coordinator.script.push(grant('job-a', 0), doomed, grant('job-a', 2));
  await h.trainer.start();
  const compute = h.computes[0] as FakeCompute;
  compute.onTrain = (task, onStep) => {
    if (task.lease.leaseId !== doomed.leaseId) return compute.defaultTrain(task, onStep);
    first?.(compute);
    setTimeout(() => compute.fail({ code: 'DEVICE_LOST', message: 'GPU device lost (destroyed)' }), 5);
    return new Promise(() => undefined);
  };
  h.trainer.run();
  await h.until((e) => count(e, 'shard-done') === 2, 'a shard after the restart');
  return { compute, doomed, second: h.computes[1] as FakeCompute };
}

function harness(
  options: {
    averaging?: AveragingHook;
    jobs?: string[];
    stallTimeoutMs?: number;
    parametersInCompute?: boolean;
  } = {},
): Harness {
  const computes: FakeCompute[] = [];
  const kept = new Map<string, Float32Array>(); // the computes' shared snapshot store
  const coordinator = new FakeCoordinator();
  const api = new FakeApi();
  for (const id of options.jobs ?? ['job-a']) api.add(jobInfo(id, spec, 3), new Float32Array([1, 2, 3]));
  const trainer = new VolunteerTrainer({
    baseUrl: 'http://coordinator.test',
    api,
    coordinator,
    createCompute: () => {
      const c = new FakeCompute();
      c.kept = kept;
      for (const id of options.jobs ?? ['job-a']) c.checkpoints.set(id, new Float32Array([1, 2, 3]));
      computes.push(c);
      return c;
    },
    ...(options.parametersInCompute === undefined
      ? {}
      : { parametersInCompute: options.parametersInCompute }),
    nodeId: () => 'vtest0001',
    retryMs: 1,
    restartDelaysMs: [1],
    completionDelaysMs: [0, 1, 1, 1],
    sleep: (ms, signal) => sleep(Math.min(ms, 2), signal),
    ...(options.averaging ? { averaging: options.averaging } : {}),
    ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
  });
  running.push(trainer);
  const events: TrainerEvent[] = [];
  void (async () => {
    for await (const e of trainer.events) events.push(e);
  })();
  return {
    trainer,
    computes,
    coordinator,
    api,
    events,
    async until(predicate, what) {
      const deadline = Date.now() + 5_000;
      while (!predicate(events)) {
        if (Date.now() > deadline)
          throw new Error(
            `timed out waiting for ${what}; events: ${events
              .slice(-20)
              .map((e) => e.type)
              .join(', ')}`,
          );
        await sleep(2);
      }
    },
  };
}

const count = (events: TrainerEvent[], type: TrainerEvent['type']): number =>
  events.filter((e) => e.type === type).length;

afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.stop()));
});

describe('VolunteerTrainer', () => {
  it('starts from the latest checkpoint, calibrates, leases with the measured throughput and reports shards', async () => {
    const h = harness();
    h.coordinator.script.push(grant('job-a', 0), grant('job-a', 1));
    const backend = await h.trainer.start();
    expect(backend.backend).toBe('webgpu');
    h.trainer.run();
    await h.until((e) => count(e, 'shard-done') === 2, 'two shards');
    const compute = h.computes[0] as FakeCompute;
    expect(compute.calls.slice(0, 3)).toEqual(['start', 'loadJob job-a', 'calibrate']);
    expect(compute.loaded[0]?.values).toEqual(new Float32Array([1, 2, 3]));
    // Calibrated before the first lease: the scheduler sets deadlines from it.
    expect(h.coordinator.requests[0]).toEqual({ samplesPerSec: 400 });
    expect(h.coordinator.completions.map((c) => [c.loss, c.samples])).toEqual([
      [0.5, 8],
      [0.5, 8],
    ]);
    const status = h.trainer.status;
    expect(status.shardsDone).toBe(2);
    expect(status.lastLoss).toBe(0.5);
    const health = h.trainer.health();
    expect(health).toMatchObject({
      backend: 'webgpu',
      shardsDone: 2,
      samplesPerSec: 400,
      dutyCycle: 1,
      lastLoss: 0.5,
    });
    // No work: it waits and asks again.
    await h.until((e) => count(e, 'no-work') >= 2, 'two idle rounds');
  });

  it('reports the duty-cycled throughput and passes the controls to the compute', async () => {
    const h = harness();
    await h.trainer.start();
    h.trainer.setDutyCycle(0.5);
    h.trainer.run();
    await h.until((e) => count(e, 'no-work') >= 1, 'an idle round');
    expect((h.computes[0] as FakeCompute).dutyCycle).toBe(0.5);
    expect(h.coordinator.requests.at(-1)).toEqual({ samplesPerSec: 200 });
    h.trainer.setPaused('hidden', true);
    expect((h.computes[0] as FakeCompute).paused).toBe(true);
    const asked = h.coordinator.requests.length;
    await sleep(30);
    expect(h.coordinator.requests.length).toBeLessThanOrEqual(asked + 1);
    expect(h.trainer.status.phase).toBe('paused');
    h.trainer.setPaused('hidden', false);
    await h.until(() => h.coordinator.requests.length > asked + 1, 'leasing again after resume');
  });

  it('loads the job of a lease from its latest checkpoint when the lease is for another job', async () => {
    const h = harness({ jobs: ['job-a', 'job-b'] });
    h.api.add(jobInfo('job-b', spec, 3), new Float32Array([7, 8, 9]));
    h.coordinator.script.push(grant('job-a', 0), grant('job-b', 0));
    h.trainer.run();
    await h.until((e) => count(e, 'shard-done') === 2, 'two shards');
    const compute = h.computes[0] as FakeCompute;
    expect(compute.loaded.map((j) => j.jobId)).toEqual(['job-a', 'job-b']);
    expect(compute.loaded[1]?.values).toEqual(new Float32Array([7, 8, 9]));
  });

  it('stops work on a cancelled lease without completing or releasing it', async () => {
    const h = harness();
    const lease = grant('job-a', 0);
    h.coordinator.script.push(lease);
    await h.trainer.start();
    const compute = h.computes[0] as FakeCompute;
    compute.onTrain = async (task, onStep) => {
      const leaseId = task.lease.leaseId;
      for (let step = 1; !compute.cancelled.includes(leaseId); step++) {
        onStep?.({
          leaseId,
          step,
          steps: 1000,
          loss: 1,
          stepTimeMs: 1,
          samplesPerSec: 1,
          tensors: 0,
          bytes: 0,
          gpuBytes: 0,
        });
        await sleep(1);
      }
      return { ok: false, leaseId, code: 'CANCELLED', message: 'cancelled' };
    };
    h.trainer.run();
    await h.until((e) => e.some((x) => x.type === 'step'), 'a step');
    h.trainer.leaseCancelled({ leaseId: lease.leaseId, reason: 'another copy of this shard finished first' });
    h.trainer.leaseCancelled({ leaseId: 'lease-nonsense' });
    await h.until((e) => count(e, 'shard-cancelled') === 1, 'the cancellation');
    expect(compute.cancelled).toEqual([lease.leaseId]);
    expect(h.coordinator.completions).toEqual([]);
    expect(h.coordinator.releases).toEqual([]);
  });

  it('releases a lease whose shard cannot be had, and goes on', async () => {
    const h = harness();
    const bad = grant('job-a', 0);
    h.coordinator.script.push(bad, grant('job-a', 1));
    await h.trainer.start();
    const compute = h.computes[0] as FakeCompute;
    compute.onTrain = (task, onStep) =>
      task.lease.leaseId === bad.leaseId
        ? Promise.resolve({ ok: false, leaseId: bad.leaseId, code: 'SHARD_UNAVAILABLE', message: 'HTTP 503' })
        : compute.defaultTrain(task, onStep);
    h.trainer.run();
    await h.until((e) => count(e, 'shard-done') === 1, 'the second shard');
    expect(h.coordinator.releases).toEqual([{ leaseId: bad.leaseId, reason: 'SHARD_UNAVAILABLE: HTTP 503' }]);
    expect(h.trainer.status.releasedLeases).toBe(1);
  });

  it('tells the coordinator it cannot run a job whose model fails to load here, and goes on with others', async () => {
    const h = harness({ jobs: ['job-a', 'job-b'] });
    const cnn = grant('job-b', 0);
    h.coordinator.script.push(cnn, grant('job-a', 0));
    await h.trainer.start();
    const compute = h.computes[0] as FakeCompute;
    const load = compute.loadJob.bind(compute);
    // What TensorFlow.js throws for an operation the backend lacks: classified as it crosses asTrainerError.
    compute.loadJob = (job) =>
      job.jobId === 'job-b'
        ? Promise.reject(new Error("Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'"))
        : load(job);
    h.trainer.run();
    await h.until((e) => count(e, 'shard-done') === 1, 'the other job’s shard');
    expect(h.coordinator.releases).toHaveLength(1);
    expect(h.coordinator.releases[0]).toMatchObject({ leaseId: cnn.leaseId, cannotRun: true });
    expect(h.coordinator.releases[0]?.reason).toMatch(/could not load job job-b .*Conv2DBackpropFilter/);
  });

  it('says it cannot run the job when a shard fails for a kernel the backend lacks, not for a passing fault', async () => {
    const h = harness();
    const unsupported = grant('job-a', 0);
    const flaky = grant('job-a', 1);
    h.coordinator.script.push(unsupported, flaky, grant('job-a', 2));
    await h.trainer.start();
    const compute = h.computes[0] as FakeCompute;
    compute.onTrain = (task, onStep) => {
      const id = task.lease.leaseId;
      if (id === unsupported.leaseId)
        return Promise.resolve({
          ok: false,
          leaseId: id,
          code: 'UNSUPPORTED_BY_BACKEND',
          message: 'no kernel',
        });
      if (id === flaky.leaseId)
        return Promise.resolve({ ok: false, leaseId: id, code: 'SHARD_UNAVAILABLE', message: 'HTTP 503' });
      return compute.defaultTrain(task, onStep);
    };
    h.trainer.run();
    await h.until((e) => count(e, 'shard-done') === 1, 'the third shard');
    expect(h.coordinator.releases.map((r) => [r.leaseId, r.cannotRun])).toEqual([
      [unsupported.leaseId, true],
      [flaky.leaseId, undefined],
    ]);
  });

  it('gives back a lease whose job it could not fetch without saying it cannot run the job', async () => {
    const h = harness();
    const unknown = grant('job-x', 0);
    h.coordinator.script.push(unknown, grant('job-a', 0));
    await h.trainer.start();
    h.trainer.run();
    await h.until((e) => count(e, 'shard-done') === 1, 'the next shard');
    expect(h.coordinator.releases).toHaveLength(1);
    expect(h.coordinator.releases[0]?.cannotRun).toBeUndefined();
  });

  it('shows the parameters’ download as it goes, and clears it once the job is loaded', async () => {
    const h = harness();
    await h.trainer.start();
    h.trainer.run();
    await h.until((e) => e.some((x) => x.type === 'job'), 'the job loaded');
    const downloads = h.events.flatMap((e) => (e.type === 'download' ? [e.progress] : []));
    expect(downloads).toEqual([{ loaded: 6, total: 12 }, { loaded: 12, total: 12 }, null]);
    expect(h.trainer.status.download).toBeNull();
  });

  it('names the lease it holds, for its heartbeats, from the grant until the lease is settled', async () => {
    const h = harness();
    const done = grant('job-a', 0);
    const given = grant('job-a', 1);
    h.coordinator.script.push(done, given);
    await h.trainer.start();
    const compute = h.computes[0] as FakeCompute;
    const named: string[][] = [];
    compute.onTrain = (task, onStep) => {
      named.push(h.trainer.heldLeaseIds);
      return task.lease.leaseId === given.leaseId
        ? Promise.resolve({
            ok: false,
            leaseId: given.leaseId,
            code: 'SHARD_UNAVAILABLE',
            message: 'HTTP 503',
          })
        : compute.defaultTrain(task, onStep);
    };
    expect(h.trainer.heldLeaseIds).toEqual([]);
    h.trainer.run();
    await h.until((e) => count(e, 'no-work') >= 1, 'the end of the work');
    expect(named).toEqual([[done.leaseId], [given.leaseId]]);
    expect(h.coordinator.completions.map((c) => c.leaseId)).toEqual([done.leaseId]);
    expect(h.coordinator.releases.map((r) => r.leaseId)).toEqual([given.leaseId]);
    expect(h.trainer.heldLeaseIds).toEqual([]);
  });

  it('refuses malformed leases from the coordinator', async () => {
    const h = harness();
    h.coordinator.script.push({ ...grant('job-a'), samplesUrl: 'https://elsewhere.example/x' });
    h.trainer.run();
    await h.until(
      (e) => e.some((x) => x.type === 'error' && /malformed lease/.test(x.message)),
      'the refusal',
    );
    expect((h.computes[0] as FakeCompute).calls.filter((c) => c.startsWith('train'))).toEqual([]);
  });

  it('resends a completion until the coordinator acknowledges it', async () => {
    const h = harness();
    h.coordinator.script.push(grant('job-a', 0));
    h.coordinator.completeFailures = 2;
    h.trainer.run();
    await h.until((e) => count(e, 'shard-done') === 1, 'the shard');
    expect(h.coordinator.completions).toHaveLength(1);
  });

  it('on a lost device: releases the lease, starts a new compute from the last parameters, and goes on', async () => {
    const h = harness();
    const { compute, doomed, second } = await shardsAcrossADeviceLoss(h);
    expect(h.coordinator.releases.map((r) => r.leaseId)).toEqual([doomed.leaseId]);
    expect(h.coordinator.releases[0]?.reason).toMatch(/^DEVICE_LOST/);
    expect(compute.disposed).toBe(true);
    // The new compute starts from the parameters after the first shard (1,2,3 each +1), not the checkpoint.
    expect(second.loaded[0]?.values).toEqual(new Float32Array([2, 3, 4]));
    expect(h.api.parameterFetches).toEqual(['job-a']);
    expect(h.trainer.status.restarts).toBe(1);
    expect(h.events.find((e) => e.type === 'restart')).toMatchObject({ code: 'DEVICE_LOST', restarts: 1 });
    expect(h.events.filter((e) => e.type === 'job').map((e) => (e.type === 'job' ? e.source : ''))).toEqual([
      'checkpoint',
      'snapshot',
    ]);
  });

  it('falls back from WebGPU after two device losses in a short time', async () => {
    const h = harness();
    await h.trainer.start();
    h.trainer.run();
    await h.until((e) => count(e, 'no-work') >= 1, 'idle');
    await h.trainer.simulateFault('device-loss');
    await h.until(
      () =>
        h.computes.length === 2 &&
        h.trainer.status.backend !== null &&
        h.computes[1]?.calls.includes('start') === true,
      'the first restart',
    );
    await h.until((e) => count(e, 'no-work') >= 2, 'idle again');
    await h.trainer.simulateFault('device-loss');
    await h.until(
      () => h.computes.length === 3 && h.trainer.status.backend?.backend === 'webgl',
      'the fallback',
    );
    expect(h.computes[2]?.starts[0]?.avoidWebGpu).toMatch(/lost 2 times/);
    expect(h.trainer.health()?.backend).toBe('webgl');
  });

  it('restarts a compute that stops making progress', async () => {
    const h = harness({ stallTimeoutMs: 40 });
    const stuck = grant('job-a', 0);
    h.coordinator.script.push(stuck, grant('job-a', 1));
    await h.trainer.start();
    (h.computes[0] as FakeCompute).onTrain = () => new Promise(() => undefined);
    h.trainer.run();
    await h.until((e) => count(e, 'shard-done') === 1, 'a shard on the new compute');
    expect(h.coordinator.releases.map((r) => r.leaseId)).toEqual([stuck.leaseId]);
    expect(h.coordinator.releases[0]?.reason).toMatch(/WORKER_CRASHED: no progress/);
    expect(h.computes[0]?.disposed).toBe(true);
  });

  it('a crashed worker is restarted too', async () => {
    const h = harness();
    await h.trainer.start();
    h.trainer.run();
    await h.until((e) => count(e, 'no-work') >= 1, 'idle');
    await h.trainer.simulateFault('crash');
    await h.until((e) => e.some((x) => x.type === 'restart' && x.code === 'WORKER_CRASHED'), 'the restart');
    await h.until(() => h.computes.length === 2 && (h.computes[1]?.loaded.length ?? 0) === 1, 'the reload');
  });

  it('answers a checkpoint request with a frame of the current parameters', async () => {
    const h = harness();
    h.coordinator.script.push(grant('job-a', 0));
    h.trainer.run();
    await h.until((e) => count(e, 'shard-done') === 1, 'a shard');
    const request = {
      jobId: 'job-a',
      requestId: '0123456789abcdef',
      uploadUrl: '/api/jobs/job-a/checkpoint-uploads/0123456789abcdef',
      token: 'secret',
      deadline: Date.now() + 10_000,
    };
    h.trainer.checkpointRequested(request);
    h.trainer.checkpointRequested({ ...request, uploadUrl: 'https://evil.example/steal' });
    await h.until((e) => count(e, 'checkpoint') === 1, 'the upload');
    expect(h.api.uploads).toHaveLength(1);
    const frame = decodeFrame(h.api.uploads[0]?.frame as Uint8Array);
    if (!frame.ok) throw new Error(frame.message);
    expect(frame.header).toMatchObject({ jobId: 'job-a', senderId: 'vtest0001', round: 0 });
    expect(frameValues(frame)).toEqual(new Float32Array([2, 3, 4]));
    expect(h.events.some((e) => e.type === 'error' && /malformed checkpoint/.test(e.message))).toBe(true);
  });

  it('with parametersInCompute, the compute downloads the checkpoint and uploads checkpoints itself', async () => {
    const h = harness({ parametersInCompute: true });
    h.coordinator.script.push(grant('job-a', 0));
    h.trainer.run();
    await h.until((e) => count(e, 'shard-done') === 1, 'a shard');
    const compute = h.computes[0] as FakeCompute;
    // Nothing fetched here: the compute downloaded it, its progress shown as the page's own was.
    expect(h.api.parameterFetches).toEqual([]);
    expect(compute.calls).toContain('download job-a');
    const downloads = h.events.filter((e) => e.type === 'download');
    expect(downloads.at(0)).toMatchObject({ jobId: 'job-a', progress: { loaded: 12, total: 12 } });
    expect(downloads.at(-1)).toMatchObject({ progress: null });
    const request = {
      jobId: 'job-a',
      requestId: '0123456789abcdef',
      uploadUrl: '/api/jobs/job-a/checkpoint-uploads/0123456789abcdef',
      token: 'secret',
      deadline: Date.now() + 10_000,
    };
    h.trainer.checkpointRequested(request);
    await h.until((e) => count(e, 'checkpoint') === 1, 'the upload');
    expect(compute.uploaded).toEqual(['0123456789abcdef']);
    expect(h.api.uploads).toHaveLength(0);
    expect(h.events.find((e) => e.type === 'checkpoint')).toMatchObject({ ok: true });
  });

  it('with parametersInCompute, the compute keeps the restart snapshot: the page never reads the parameters', async () => {
    const h = harness({ parametersInCompute: true });
    const { compute, second } = await shardsAcrossADeviceLoss(h);
    // The new compute loaded what the first kept after its shard (1,2,3 each +1), not the checkpoint.
    expect(second.calls).toContain('fromSnapshot job-a');
    expect(second.loaded[0]?.values).toEqual(new Float32Array([2, 3, 4]));
    expect(second.calls).not.toContain('download job-a');
    expect(compute.calls.filter((c) => c === 'saveSnapshot')).toHaveLength(1);
    expect(h.events.filter((e) => e.type === 'job').map((e) => (e.type === 'job' ? e.source : ''))).toEqual([
      'checkpoint',
      'snapshot',
    ]);
    // No compute ever handed its parameters to the page.
    expect(h.computes.flatMap((c) => c.calls).filter((c) => c === 'parameters')).toEqual([]);
    expect(h.api.parameterFetches).toEqual([]);
  });

  it("a replicated lease's checkpoint: fetched by the page, or named to a compute that fetches it", async () => {
    for (const parametersInCompute of [false, true]) {
      const h = harness({ parametersInCompute });
      h.coordinator.script.push(grant('job-a', 0, { replica: { checkpoint: 2, seed: 9 } }));
      h.trainer.run();
      await h.until((e) => count(e, 'shard-done') === 1, 'the replicated shard');
      const task = (h.computes[0] as FakeCompute).tasks[0];
      if (parametersInCompute) {
        expect(task?.replica).toEqual({ checkpoint: 2, seed: 9 });
        expect(h.api.checkpointFetches).toEqual([]);
      } else {
        expect(task?.replica).toEqual({ values: new Float32Array([1, 2, 3]), seed: 9 });
        expect(h.api.checkpointFetches).toEqual(['job-a/2']);
      }
      await h.trainer.stop();
    }
  });

  it('with parametersInCompute, a kept snapshot that is gone means the checkpoint', async () => {
    const h = harness({ parametersInCompute: true });
    // The browser evicts the kept snapshot while the second shard trains.
    const { second } = await shardsAcrossADeviceLoss(h, (compute) => compute.kept.clear());
    expect(second.calls.slice(1, 3)).toEqual(['fromSnapshot job-a', 'download job-a']);
    expect(second.loaded[0]?.values).toEqual(new Float32Array([1, 2, 3]));
    expect(h.events.filter((e) => e.type === 'job').map((e) => (e.type === 'job' ? e.source : ''))).toEqual([
      'checkpoint',
      'checkpoint',
    ]);
  });

  it('runs the averaging hook after each shard, before the next lease', async () => {
    const seen: number[][] = [];
    const averaging: AveragingHook = {
      async afterShard(params, context) {
        const values = await params.read();
        seen.push([context.shardsDone, ...values]);
        await params.write(values.map((v) => v * 10));
      },
    };
    const h = harness({ averaging });
    h.coordinator.script.push(grant('job-a', 0), grant('job-a', 1));
    h.trainer.run();
    await h.until((e) => count(e, 'shard-done') === 2, 'two shards');
    await h.until(() => seen.length === 2, 'two hook calls');
    expect(seen).toEqual([
      [1, 2, 3, 4],
      [2, 21, 31, 41],
    ]);
  });

  it('stop() releases the lease in progress and ends the event stream', async () => {
    const h = harness();
    const lease = grant('job-a', 0);
    h.coordinator.script.push(lease);
    await h.trainer.start();
    const compute = h.computes[0] as FakeCompute;
    compute.onTrain = (task) =>
      new Promise((resolve) => {
        const check = setInterval(() => {
          if (!compute.cancelled.includes(task.lease.leaseId)) return;
          clearInterval(check);
          resolve({ ok: false, leaseId: task.lease.leaseId, code: 'CANCELLED', message: 'stopped' });
        }, 1);
      });
    h.trainer.run();
    await h.until((e) => count(e, 'lease') === 1, 'the lease');
    await sleep(5);
    await h.trainer.stop();
    expect(h.coordinator.releases).toEqual([{ leaseId: lease.leaseId, reason: 'the volunteer stopped' }]);
    expect(compute.disposed).toBe(true);
    await h.until((e) => e.at(-1)?.type === 'stopped', 'the end');
    expect(h.trainer.status.phase).toBe('stopped');
  });

  it('waits while the coordinator is unreachable', async () => {
    const h = harness();
    h.coordinator.connected = false;
    h.trainer.run();
    await h.until(() => h.coordinator.attempts >= 5, 'retries');
    // Reported once, not once per retry.
    expect(h.events.filter((x) => x.type === 'error' && x.code === 'COORDINATOR_UNAVAILABLE')).toHaveLength(
      1,
    );
    expect(h.trainer.status.lastError).toMatch(/offline/);
    h.coordinator.connected = true;
    h.coordinator.script.push(grant('job-a', 0));
    await h.until((e) => count(e, 'shard-done') === 1, 'a shard once connected');
    expect(h.trainer.status.lastError).toBeNull();
  });
});

describe('pickJob', () => {
  it('prefers running jobs, then priority, then age', () => {
    const a = jobInfo('job-a', jobSpec({ priority: 10 }), 3, { status: 'queued', createdAt: 1 });
    const b = jobInfo('job-b', jobSpec({ priority: 5 }), 3, { status: 'running', createdAt: 2 });
    const c = jobInfo('job-c', jobSpec({ priority: 50 }), 3, { status: 'running', createdAt: 3 });
    const d = jobInfo('job-d', jobSpec({ priority: 99 }), 3, { status: 'completed', createdAt: 0 });
    expect(pickJob([a, b, c, d])?.id).toBe('job-c');
    expect(pickJob([a, d])?.id).toBe('job-a');
    expect(pickJob([d])).toBeNull();
  });
});
