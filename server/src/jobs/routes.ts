/** REST API for jobs: create, list, get, alarms, pause, resume, cancel. Writes need the operator token. */
import express, { type Request, type Response } from 'express';
import { ProtocolError, type JobAlarmsResponse } from '@tabswarm/protocol';
import { requireOperator } from '../auth.ts';
import { sendError } from '../http-errors.ts';
import type { JobService } from './job-service.ts';

const JOB_ID = /^job-[0-9a-f]{12}$/;

/** Maps service errors to HTTP; anything unexpected is a 500 that says nothing internal. */
export function replyWithError(res: Response, error: unknown): void {
  if (error instanceof ProtocolError) {
    if (error.code === 'UNKNOWN_JOB') sendError(res, 'NOT_FOUND', error.message);
    else if (error.code === 'BAD_REQUEST' && /cannot become|already/.test(error.message))
      sendError(res, 'CONFLICT', error.message);
    else sendError(res, 'BAD_REQUEST', error.message);
    return;
  }
  sendError(res, 'INTERNAL', 'internal error');
}

export function jobRoutes(
  jobs: JobService,
  operatorToken: string,
  onError: (err: unknown) => void,
): express.Router {
  const router = express.Router();
  const operator = requireOperator(operatorToken);
  const json = express.json({ limit: '512kb', strict: true });

  router.param('jobId', (req, res, next, id: string) => {
    if (!JOB_ID.test(id)) {
      sendError(res, 'NOT_FOUND', `no job ${id.slice(0, 64)}`);
      return;
    }
    next();
  });

  const handle = (fn: (req: Request, res: Response) => unknown) => async (req: Request, res: Response) => {
    try {
      await fn(req, res);
    } catch (error) {
      if (!(error instanceof ProtocolError)) onError(error);
      replyWithError(res, error);
    }
  };

  router.get(
    '/',
    handle((_req, res) => res.json({ jobs: jobs.list() })),
  );
  router.post(
    '/',
    operator,
    json,
    handle(async (req, res) => {
      if (!req.is('application/json')) {
        sendError(res, 'UNSUPPORTED_MEDIA_TYPE', 'send the job spec as application/json');
        return;
      }
      res.status(201).json({ job: await jobs.create(req.body) });
    }),
  );
  router.get(
    '/:jobId',
    handle((req, res) => res.json({ job: jobs.get(req.params.jobId as string) })),
  );
  router.get(
    '/:jobId/alarms',
    handle((req, res) => {
      const jobId = req.params.jobId as string;
      res.json({ jobId, alarms: jobs.alarms(jobId) } satisfies JobAlarmsResponse);
    }),
  );
  for (const action of ['pause', 'resume', 'cancel'] as const) {
    router.post(
      `/:jobId/${action}`,
      operator,
      handle((req, res) => res.json({ job: jobs[action](req.params.jobId as string) })),
    );
  }
  return router;
}
