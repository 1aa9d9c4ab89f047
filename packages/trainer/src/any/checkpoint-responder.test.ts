import { decodeFrame, frameValues, type CheckpointRequest } from '@tabswarm/protocol';
import { describe, expect, it } from 'vitest';
import { FakeApi } from './test-fakes.ts';
import type { ParameterSnapshot } from './types.ts';
import { CheckpointResponder } from './checkpoint-responder.ts';
import { TrainerState, type TrainerEvent } from './trainer-status.ts';

const request = (jobId = 'job-a', requestId = '0123456789abcdef') => ({
  jobId,
  requestId,
  uploadUrl: `/api/jobs/${jobId}/checkpoint-uploads/${requestId}`,
  token: 'secret',
  deadline: Date.now() + 10_000,
});

function responder(
  current: ParameterSnapshot | null,
  last: ParameterSnapshot | null,
  nodeId: string | null = 'vnode',
  fromCompute?: (request: CheckpointRequest, senderId: string) => Promise<boolean>,
) {
  let currentReads = 0;
  const api = new FakeApi();
  const state = new TrainerState();
  const events: TrainerEvent[] = [];
  void (async () => {
    for await (const e of state.events) events.push(e);
  })();
  const r = new CheckpointResponder({
    api,
    nodeId: () => nodeId,
    state,
    current: () => {
      currentReads++;
      return Promise.resolve(current);
    },
    last: () => last,
    ...(fromCompute === undefined ? {} : { fromCompute }),
  });
  const checkpoints = () => events.filter((e) => e.type === 'checkpoint');
  return { r, api, state, events, checkpoints, currentReads: () => currentReads };
}

describe('CheckpointResponder', () => {
  it('uploads the current parameters of the requested job as an fp32 frame from this node', async () => {
    const h = responder({ jobId: 'job-a', values: new Float32Array([1, 2]) }, null);
    await h.r.requested(request());
    const upload = h.api.uploads[0];
    const frame = decodeFrame(upload?.frame ?? new Uint8Array());
    expect(frame.ok && frame.header.senderId).toBe('vnode');
    expect(frame.ok && Array.from(frameValues(frame))).toEqual([1, 2]);
    expect(h.state.status.checkpointsUploaded).toBe(1);
  });

  it('falls back to the last snapshot when the compute holds another job (or none)', async () => {
    const h = responder(
      { jobId: 'job-b', values: new Float32Array([9]) },
      { jobId: 'job-a', values: new Float32Array([3]) },
    );
    await h.r.requested(request('job-a'));
    const frame = decodeFrame(h.api.uploads[0]?.frame ?? new Uint8Array());
    expect(frame.ok && Array.from(frameValues(frame))).toEqual([3]);
  });

  it('has the compute upload its own parameters when it can: nothing read or encoded here', async () => {
    const asked: [string, string][] = [];
    const h = responder(
      { jobId: 'job-a', values: new Float32Array([1, 2]) },
      null,
      'vnode',
      (req, sender) => {
        asked.push([req.jobId, sender]);
        return Promise.resolve(true);
      },
    );
    await h.r.requested(request());
    expect(asked).toEqual([['job-a', 'vnode']]);
    expect(h.api.uploads).toHaveLength(0);
    expect(h.currentReads()).toBe(0);
    expect(h.checkpoints()[0]).toMatchObject({ ok: true });
    expect(h.state.status.checkpointsUploaded).toBe(1);
    // A compute holding another job: the last snapshot, encoded here.
    const other = responder(null, { jobId: 'job-a', values: new Float32Array([3]) }, 'vnode', () =>
      Promise.resolve(false),
    );
    await other.r.requested(request());
    const frame = decodeFrame(other.api.uploads[0]?.frame ?? new Uint8Array());
    expect(frame.ok && Array.from(frameValues(frame))).toEqual([3]);
    // A failed upload is reported, not retried from here.
    const failing = responder(null, null, 'vnode', () => Promise.reject(new Error('HTTP 503')));
    await failing.r.requested(request());
    expect(failing.checkpoints()[0]).toMatchObject({ ok: false, message: /HTTP 503/ });
    expect(failing.api.uploads).toHaveLength(0);
  });

  it('refuses what it cannot answer, and ignores a malformed request', async () => {
    const none = responder(null, null);
    await none.r.requested(request());
    expect(none.checkpoints()[0]).toMatchObject({ ok: false, message: /no parameters/ });
    const unjoined = responder({ jobId: 'job-a', values: new Float32Array([1]) }, null, null);
    await unjoined.r.requested(request());
    expect(unjoined.checkpoints()[0]).toMatchObject({ ok: false, message: 'not joined' });
    // An upload URL that is not the coordinator's own route for the job.
    await none.r.requested({ ...request(), uploadUrl: 'https://elsewhere.test/steal' });
    await new Promise((r) => setTimeout(r, 0));
    expect(none.events.at(-1)).toMatchObject({ type: 'error', message: /malformed checkpoint request/ });
    expect(none.api.uploads).toHaveLength(0);
  });
});
