/**
 * Validated work at the coordinator's edges: GET /api/credit (every judged volunteer's trust and
 * credit, most credit first) and GET /api/credit/:nodeId (one volunteer's), node info that shows each volunteer's standing, and an event-log
 * line when one is distrusted. The rules are in scheduler/replica-validation.ts and core.
 */
import express from 'express';
import { nodeIdSchema, type Contributor, type NodeCreditReply } from '@tabswarm/protocol';
import { sendError } from './http-errors.ts';
import type { EventLog } from './event-log.ts';
import type { Logger } from './logger.ts';
import type { Membership } from './membership.ts';
import type { ServerMetrics } from './metrics.ts';
import type { Scheduler } from './scheduler/scheduler.ts';

/** The most contributors GET /api/credit lists (bounded reply, bounded work). */
export const MAX_CONTRIBUTORS = 10_000;

export function creditRoutes(scheduler: Scheduler, membership: Membership): express.Router {
  const router = express.Router();
  router.get('/', (_req, res) => {
    const contributors: Contributor[] = scheduler.validation.contributors(MAX_CONTRIBUTORS).map((c) => ({
      ...c,
      label: membership.get(c.nodeId)?.capabilities.userAgent.slice(0, 256) ?? null,
    }));
    res.json({ contributors });
  });
  // One volunteer's standing: what its own page shows. Unknown ids are 404, malformed ones 400.
  router.get('/:nodeId', (req, res) => {
    const parsed = nodeIdSchema.safeParse(req.params.nodeId);
    if (!parsed.success) {
      sendError(res, 'BAD_REQUEST', 'nodeId: node id must be 4–64 letters or digits');
      return;
    }
    const nodeId = parsed.data;
    const trust = scheduler.validation.trustOf(nodeId) ?? null;
    if (trust === null && membership.get(nodeId) === undefined) {
      sendError(res, 'NOT_FOUND', `no volunteer ${nodeId}`);
      return;
    }
    const reply: NodeCreditReply = { nodeId, trust };
    res.json(reply);
  });
  return router;
}

/** Node info carries trust; a verdict refreshes the judged volunteers' node info on dashboards. */
export function wireValidatedWork(
  scheduler: Scheduler,
  membership: Membership,
  events: EventLog,
  log: Logger,
  metrics: ServerMetrics,
): void {
  membership.attachTrust((nodeId) => scheduler.validation.trustOf(nodeId));
  scheduler.onEvent((event) => {
    if (event.type !== 'judged') return;
    for (const { verdict } of event.verdicts) metrics.replicaVerdicts.inc({ job: event.jobId, verdict });
    for (const nodeId of new Set(event.verdicts.map((v) => v.nodeId))) membership.trustChanged(nodeId);
    for (const nodeId of event.distrusted) {
      metrics.volunteersDistrusted.inc({ job: event.jobId });
      log.warn({ jobId: event.jobId, nodeId }, 'volunteer distrusted: its replicated work was outvoted');
      events.add('distrusted', 'distrusted: its replicated work was outvoted; its leases were revoked', {
        jobId: event.jobId,
        nodeId,
        level: 'warn',
      });
    }
  });
}
