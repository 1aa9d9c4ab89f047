/** GET /api/events: the recent event log, filterable by job and kind. */
import express from 'express';
import { EVENT_KINDS, type EventKind } from '@tabswarm/protocol';
import type { EventLog } from './event-log.ts';
import { sendError } from './http-errors.ts';

const KINDS: ReadonlySet<string> = new Set(EVENT_KINDS);

export function eventRoutes(events: EventLog): express.Router {
  const router = express.Router();
  router.get('/', (req, res) => {
    const { jobId, kind, limit } = req.query;
    if (jobId !== undefined && (typeof jobId !== 'string' || !/^job-[0-9a-f]{12}$/.test(jobId))) {
      sendError(res, 'BAD_REQUEST', 'jobId must be a job id');
      return;
    }
    const kinds = typeof kind === 'string' ? kind.split(',') : kind === undefined ? undefined : null;
    if (kinds === null || kinds?.some((k) => !KINDS.has(k))) {
      sendError(res, 'BAD_REQUEST', `kind must be a comma-separated list of ${EVENT_KINDS.join(', ')}`);
      return;
    }
    const n = limit === undefined ? 500 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 2000) {
      sendError(res, 'BAD_REQUEST', 'limit must be an integer from 1 to 2000');
      return;
    }
    res.json({
      events: events.list({
        ...(jobId !== undefined && { jobId }),
        ...(kinds !== undefined && { kinds: kinds as EventKind[] }),
        limit: n,
      }),
    });
  });
  return router;
}
