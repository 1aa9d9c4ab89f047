/**
 * A client that goes away in the middle of an upload body is not a server error: nothing is
 * logged as one, and the coordinator goes on serving.
 */
import http from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { fedAvgCredential, fedAvgUploadPath, type CheckpointRequest, type JobInfo } from '@tabswarm/protocol';
import { SimVolunteer } from '../sim/sim-volunteer.ts';
import { api, closedAfterEach, joinVolunteer, startServer, type RunningServer } from '../test-support.ts';

const track = closedAfterEach<RunningServer>();

/** Sends part of a declared body, then resets the connection; resolves once the server saw it go. */
function abortMidBody(url: string, headers: Record<string, string>, declared: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(declared) },
    });
    req.on('error', () => undefined);
    req.on('response', () => resolve()); // answered before the body: nothing to abort
    req.write(Buffer.alloc(1024), () => {
      setTimeout(() => {
        req.destroy();
        setTimeout(resolve, 300);
      }, 100);
    });
  });
}

describe('uploads cut short by the client', () => {
  it('FedAvg and checkpoint uploads are not logged as server errors', async () => {
    const running = track(await startServer({ heartbeatTimeoutMs: 60_000, heartbeatIntervalMs: 1_000 }));
    const created = await api<{ job: JobInfo }>(`${running.url}/api/jobs`, {
      body: {
        name: 'fedavg',
        averaging: { mode: 'fedavg' },
        training: { batchSize: 100, localSteps: 40, epochs: 1 },
        checkpoint: { everyShards: 1, contributors: 1, uploadTimeoutMs: 60_000 },
      },
    });
    expect(created.status).toBe(201);
    const job = created.body.job;
    await running.server.checkpoints().idle();
    const volunteer = running.volunteer();
    const joined = await joinVolunteer(volunteer);
    const errors = vi.spyOn(running.server.log, 'error');

    await abortMidBody(
      `${running.url}${fedAvgUploadPath(job.id)}`,
      {
        authorization: fedAvgCredential(joined.nodeId, joined.peerjs.token),
        'content-type': 'application/octet-stream',
      },
      (job.parameterCount ?? 0) * 4,
    );

    // A checkpoint upload, by the invited volunteer with its round token.
    const sim = new SimVolunteer(running.url, { answerCheckpoints: false });
    const requests: CheckpointRequest[] = [];
    sim.socket.on('checkpointRequest', (r) => requests.push(r));
    try {
      await sim.join();
      const lease = await sim.lease();
      if (!lease) throw new Error('expected a lease');
      await sim.complete(lease);
      await vi.waitFor(() => expect(requests).toHaveLength(1));
      const request = requests[0] as CheckpointRequest;
      await abortMidBody(
        `${running.url}${request.uploadUrl}`,
        { authorization: `Bearer ${request.token}`, 'content-type': 'application/octet-stream' },
        (job.parameterCount ?? 0) * 4,
      );
    } finally {
      sim.close();
    }

    expect(errors).not.toHaveBeenCalled();
    expect((await api(`${running.url}/api/jobs/${job.id}`, { token: null })).status).toBe(200);
  });
});
