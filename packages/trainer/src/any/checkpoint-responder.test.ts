import { decodeFrame, frameValues } from '@tabswarm/protocol';
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
) {
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
    current: () => Promise.resolve(current),
    last: () => last,
  });
  const checkpoints = () => events.filter((e) => e.type === 'checkpoint');
  return { r, api, state, events, checkpoints };
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
