import { describe, expect, it } from 'vitest';
import { HttpCoordinatorApi } from './coordinator-api.ts';
import { TrainerError } from './any/errors.ts';
import { jobInfo, jobSpec } from './any/test-support.ts';

const BASE = 'http://coordinator.test';
const JOB_ID = 'job-0123456789ab';

/** An API whose every GET answers `body` as JSON, with `status`. */
function answering(body: unknown, status = 200): HttpCoordinatorApi {
  const fetch = (): Promise<Response> =>
    Promise.resolve(
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }),
    );
  return new HttpCoordinatorApi(BASE, { fetch });
}

/** The typed failure a call ends in, or null when it succeeded. */
async function failure(call: Promise<unknown>): Promise<TrainerError | null> {
  try {
    await call;
    return null;
  } catch (error) {
    if (error instanceof TrainerError) return error;
    throw error;
  }
}

describe('the trainer’s REST client', () => {
  const job = JSON.parse(JSON.stringify(jobInfo(JOB_ID, jobSpec(), 101_770))) as Record<string, unknown>;
  const dataset = { id: 'parity', name: 'Parity', source: 'csv', featureShape: [2], numClasses: 2 };
  const listed = { ...dataset, trainSize: 15, testSize: 5 };

  it('reads well-formed jobs and dataset shapes', async () => {
    expect((await answering({ jobs: [job] }).listJobs())[0]?.id).toBe(JOB_ID);
    expect((await answering({ job }).getJob(JOB_ID)).spec.training.batchSize).toBe(32);
    expect(await answering({ ok: true, dataset: listed }).getDataset('parity')).toEqual({
      featureShape: [2],
      numClasses: 2,
      name: 'Parity',
    });
  });

  it('rejects malformed replies with a coded error that names the route', async () => {
    const cases: [string, Promise<unknown>][] = [
      ['GET /api/jobs', answering({ jobs: [{ ...job, status: 'sleeping' }] }).listJobs()],
      ['GET /api/jobs', answering({ jobs: 'all of them' }).listJobs()],
      ['GET /api/jobs/:jobId', answering({ job: { ...job, spec: { name: '' } } }).getJob(JOB_ID)],
      ['GET /api/jobs/:jobId', answering(null).getJob(JOB_ID)],
      [
        'GET /api/datasets/:id',
        answering({ ok: true, dataset: { ...listed, numClasses: 1 } }).getDataset('parity'),
      ],
      ['GET /api/datasets/:id', answering({ ok: true, dataset }).getDataset('parity')],
    ];
    for (const [route, call] of cases) {
      const error = await failure(call);
      expect(error?.code).toBe('HTTP_FAILED');
      expect(error?.message).toMatch(new RegExp(`^BAD_PAYLOAD: ${route.replaceAll('/', '\\/')}: `));
    }
  });

  it('reads error bodies with the REST error schema', async () => {
    const refused = await failure(
      answering({ ok: false, code: 'NOT_FOUND', message: 'no job' }, 404).getJob(JOB_ID),
    );
    expect(refused?.message).toBe(`GET /api/jobs/${JOB_ID}: HTTP 404: NOT_FOUND: no job`);
    const bare = await failure(answering({ message: 7 }, 500).getJob(JOB_ID));
    expect(bare?.message).toBe(`GET /api/jobs/${JOB_ID}: HTTP 500`);
  });
});
