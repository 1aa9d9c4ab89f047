import { describe, expect, it } from 'vitest';
import { TrainerError } from './errors.ts';
import { sleep } from './pacing.ts';
import { FakeCompute } from './test-fakes.ts';
import { ComputeSupervisor } from './compute-supervisor.ts';
import { PauseGate } from './pause-gate.ts';
import { TrainerState, type TrainerEvent } from './trainer-status.ts';

function supervisor(options: { stallTimeoutMs?: number } = {}) {
  const computes: FakeCompute[] = [];
  const state = new TrainerState();
  const pause = new PauseGate();
  const started: number[] = [];
  const s = new ComputeSupervisor({
    createCompute: () => {
      const c = new FakeCompute();
      computes.push(c);
      return c;
    },
    startOptions: { baseUrl: 'http://coordinator.test' },
    state,
    pause,
    stopped: new AbortController().signal,
    sleep: () => Promise.resolve(),
    restartDelaysMs: [0],
    ...options,
    onStarted: () => started.push(computes.length),
  });
  const events: TrainerEvent[] = [];
  void (async () => {
    for await (const e of state.events) events.push(e);
  })();
  return { s, computes, state, pause, started, events };
}

describe('ComputeSupervisor', () => {
  it('starts one compute for concurrent callers and reports its backend', async () => {
    const h = supervisor();
    const [a, b] = await Promise.all([h.s.ensure(), h.s.ensure()]);
    expect(a).toBe(b);
    expect(h.computes).toHaveLength(1);
    expect(h.started).toEqual([1]);
    expect(h.state.status).toMatchObject({ phase: 'idle', backend: { backend: 'webgpu' } });
  });

  it('fails a call in flight when its compute dies, with the compute’s code', async () => {
    const h = supervisor();
    await h.s.ensure();
    const call = h.s.use(() => new Promise<never>(() => undefined));
    (h.computes[0] as FakeCompute).fail({ code: 'DEVICE_LOST', message: 'gone' });
    await expect(call).rejects.toMatchObject({ code: 'DEVICE_LOST' });
    expect(h.s.failure?.code).toBe('DEVICE_LOST');
    expect(h.s.gone?.aborted).toBe(true);
  });

  it('skips WebGPU on the next compute after two device losses, not after one', async () => {
    const h = supervisor();
    await h.s.ensure();
    await h.s.restart(new TrainerError('DEVICE_LOST', 'first'));
    await h.s.ensure();
    expect((h.computes[1] as FakeCompute).starts[0]?.avoidWebGpu).toBeUndefined();
    await h.s.restart(new TrainerError('DEVICE_LOST', 'second'));
    const port = await h.s.ensure();
    expect((h.computes[2] as FakeCompute).starts[0]?.avoidWebGpu).toMatch(/lost 2 times/);
    expect((await port.start({ baseUrl: '' })).backend).toBe('webgpu');
    expect(h.state.status.restarts).toBe(2);
    expect((h.computes[0] as FakeCompute).disposed).toBe(true);
  });

  it('disposes a compute that makes no progress, and the call fails as a crash', async () => {
    const h = supervisor({ stallTimeoutMs: 40 });
    await h.s.ensure();
    const progress = { progressAt: 0 };
    const call = h.s.watch(progress, () => h.s.use(() => new Promise<never>(() => undefined)));
    await expect(call).rejects.toMatchObject({ code: 'WORKER_CRASHED', message: /no progress/ });
    expect((h.computes[0] as FakeCompute).disposed).toBe(true);
  });

  it('does not count a paused compute as stalled', async () => {
    const h = supervisor({ stallTimeoutMs: 40 });
    await h.s.ensure();
    h.pause.set('user', true);
    const progress = { progressAt: 0 };
    const result = await h.s.watch(progress, () => sleep(150).then(() => 'done'));
    expect(result).toBe('done');
    expect((h.computes[0] as FakeCompute).disposed).toBe(false);
  });
});
