/**
 * A checkpoint upload is authenticated (open round, the volunteer's round token) before its body is
 * read: a refused upload is answered while the client is still sending, never buffered.
 */
import http from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CheckpointRequest, JobInfo } from '@tabswarm/protocol';
import { SimVolunteer } from '../sim/sim-volunteer.ts';
import { api, closedAfterEach, startServer, type RunningServer } from '../test-support.ts';

const track = closedAfterEach<RunningServer>();
const sims: SimVolunteer[] = [];
afterEach(() => sims.splice(0).forEach((s) => s.close()));

interface Answer {
  readonly status: number;
  readonly body: { ok?: boolean; code?: string; message?: string };
  readonly connection: string | undefined;
}

/**
 * POSTs `sent` of `declared` bytes and keeps the request open: resolves with the answer, or
 * rejects when none comes within `waitMs` (the server is waiting for the rest of the body).
 */
function partialUpload(
  url: string,
  headers: Record<string, string>,
  declared: number,
  sent: number,
  waitMs = 3_000,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/octet-stream',
        'content-length': String(declared),
      },
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${waitMs} ms while ${declared - sent} bytes were unsent`));
    }, waitMs);
    req.on('error', () => undefined); // the server may close the connection once it has answered
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        resolve({
          status: res.statusCode ?? 0,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer['body'],
          connection: res.headers.connection,
        });
      });
    });
    req.write(Buffer.alloc(sent));
  });
}

describe('checkpoint and FedAvg upload authentication', () => {
  it('answers 401/403/404 before reading the body', async () => {
    const running = track(await startServer({ heartbeatTimeoutMs: 60_000, heartbeatIntervalMs: 1_000 }));
    const created = await api<{ job: JobInfo }>(`${running.url}/api/jobs`, {
      body: {
        name: 'auth',
        training: { batchSize: 100, localSteps: 40, epochs: 1 },
        checkpoint: { everyShards: 1, contributors: 1, uploadTimeoutMs: 60_000 },
      },
    });
    expect(created.status).toBe(201);
    const job = created.body.job;
    await running.server.checkpoints().idle();

    const volunteer = new SimVolunteer(running.url, { answerCheckpoints: false });
    sims.push(volunteer);
    const requests: CheckpointRequest[] = [];
    volunteer.socket.on('checkpointRequest', (r) => requests.push(r));
    await volunteer.join();
    const lease = await volunteer.lease();
    if (!lease) throw new Error('expected a lease');
    await volunteer.complete(lease); // everyShards = 1: a round opens and invites this volunteer
    await vi.waitFor(() => expect(requests).toHaveLength(1));
    const request = requests[0] as CheckpointRequest;

    // Within the job's frame limit (4 bytes a parameter), so only authentication can refuse it early.
    const declared = (job.parameterCount ?? 0) * 4;
    expect(declared).toBeGreaterThan(100_000);
    const url = `${running.url}${request.uploadUrl}`;
    const otherRound = url.replace(
      /[0-9a-f]{16}$/,
      request.requestId === '0'.repeat(16) ? '1'.repeat(16) : '0'.repeat(16),
    );
    const cases: [string, string, Record<string, string>, number, string][] = [
      ['no token', url, {}, 401, 'UNAUTHORIZED'],
      ['a token that is not bearer', url, { authorization: `Basic ${request.token}` }, 401, 'UNAUTHORIZED'],
      ['a wrong token', url, { authorization: `Bearer ${'f'.repeat(32)}` }, 403, 'FORBIDDEN'],
      ['FedAvg: no credential', `${running.url}/api/jobs/${job.id}/fedavg/uploads`, {}, 401, 'UNAUTHORIZED'],
      [
        'FedAvg: a wrong credential',
        `${running.url}/api/jobs/${job.id}/fedavg/uploads`,
        { authorization: `Bearer nobody1.${'0'.repeat(32)}` },
        403,
        'FORBIDDEN',
      ],
      [
        'a round that is not open',
        otherRound,
        { authorization: `Bearer ${request.token}` },
        404,
        'NOT_FOUND',
      ],
    ];
    for (const [what, target, headers, status, code] of cases) {
      const answer = await partialUpload(target, headers, declared, 1024);
      expect(answer.status, what).toBe(status);
      expect(answer.body, what).toMatchObject({ ok: false, code });
      // The rest of the body is not read: the connection closes after the answer.
      expect(answer.connection, what).toBe('close');
    }

    // The round is untouched: the invited volunteer's token still opens it (then the body is read).
    const valid = await partialUpload(
      url,
      { authorization: `Bearer ${request.token}` },
      declared,
      1024,
      500,
    ).catch((error: Error) => error);
    expect(valid).toBeInstanceOf(Error);
  });
});
