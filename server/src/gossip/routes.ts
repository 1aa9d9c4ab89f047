/**
 * REST routes of gossip averaging: a job's consensus series, FedAvg uploads (the response is the
 * round's average), and every volunteer's latest link report.
 */
import express, { type Request, type Response } from 'express';
import {
  FEDAVG_PARTICIPANTS_HEADER,
  FEDAVG_ROUND_HEADER,
  FEDAVG_SAMPLES_HEADER,
  nodeIdSchema,
} from '@tabswarm/protocol';
import { clientGone, sendError, type HttpErrorCode } from '../http-errors.ts';
import type { SessionTokenVerdict } from '../session-tokens.ts';
import type { ConsensusLog } from './consensus.ts';
import type { FedAvgRounds } from './fedavg.ts';
import type { LinkRegistry } from './link-registry.ts';

const JOB_ID = /^job-[0-9a-f]{12}$/;
/** `Bearer <nodeId>.<session token>` (the token names the node again: the two must agree). */
const CREDENTIAL = /^Bearer\s+([A-Za-z0-9]{4,64})\.(\S{1,256})$/;

export interface GossipRouteDeps {
  readonly consensus: ConsensusLog;
  readonly fedavg: FedAvgRounds;
  readonly links: LinkRegistry;
  readonly jobExists: (jobId: string) => boolean;
  /** Largest FedAvg upload for the job, in bytes (its parameter frame). */
  readonly maxUploadBytes: (jobId: string) => number;
  /** An averaged upload's bytes: the frame the volunteer sent, and the average it gets back. */
  readonly countFedAvgBytes?: (jobId: string, nodeId: string, sent: number, received: number) => void;
  /** A node's upload credential: its id and its session token (Membership.verifySession). */
  readonly verifyNode: (nodeId: string, token: string) => SessionTokenVerdict;
  readonly onError: (err: unknown) => void;
}

/** Mount at /api/jobs/:jobId. */
export function gossipJobRoutes(deps: GossipRouteDeps): express.Router {
  const router = express.Router({ mergeParams: true });
  const handle =
    (fn: (req: Request, res: Response, jobId: string) => unknown) => async (req: Request, res: Response) => {
      const jobId = req.params.jobId as string;
      if (!JOB_ID.test(jobId) || !deps.jobExists(jobId)) {
        sendError(res, 'NOT_FOUND', `no job ${jobId.slice(0, 64)}`);
        return;
      }
      try {
        await fn(req, res, jobId);
      } catch (error) {
        if (clientGone(req) && !res.headersSent) return; // the client went away mid-body: nobody to answer
        deps.onError(error);
        if (!res.headersSent) sendError(res, 'INTERNAL', 'internal error');
      }
    };

  router.get(
    '/consensus',
    handle((req, res, jobId) => {
      const limit = Math.min(20_000, Math.max(0, Number(req.query.limit ?? 500) || 0));
      res.json(deps.consensus.series(jobId, limit));
    }),
  );

  router.get(
    '/fedavg',
    handle((_req, res, jobId) => res.json(deps.fedavg.state(jobId))),
  );

  router.post(
    '/fedavg/uploads',
    handle(async (req, res, jobId) => {
      const credential = CREDENTIAL.exec(req.get('authorization') ?? '');
      const nodeId = credential?.[1];
      const token = credential?.[2];
      // Refused before the body is read; the connection closes instead of reading the rest.
      const refuse = (code: HttpErrorCode, message: string): void => {
        if (!req.readableEnded) res.set('Connection', 'close');
        sendError(res, code, message);
      };
      if (nodeId === undefined || token === undefined || !nodeIdSchema.safeParse(nodeId).success) {
        refuse(
          'UNAUTHORIZED',
          'authenticate as the volunteer: Authorization: Bearer <nodeId>.<session token>',
        );
        return;
      }
      const verdict = deps.verifyNode(nodeId, token);
      if (!verdict.ok) {
        refuse(verdict.code, verdict.message);
        return;
      }
      if (!req.is('application/octet-stream')) {
        refuse('UNSUPPORTED_MEDIA_TYPE', 'upload the parameter frame as application/octet-stream');
        return;
      }
      const samples = Number(req.get(FEDAVG_SAMPLES_HEADER));
      const limit = deps.maxUploadBytes(jobId);
      const body = await readBody(req, limit);
      if (body === null) {
        refuse('PAYLOAD_TOO_LARGE', `a parameter frame for this job is at most ${limit} bytes`);
        return;
      }
      const outcome = await deps.fedavg.upload(jobId, nodeId, body, samples);
      if (!outcome.ok) {
        res.status(outcome.status).json({ ok: false, code: outcome.code, message: outcome.message });
        return;
      }
      deps.countFedAvgBytes?.(jobId, nodeId, body.byteLength, outcome.frame.byteLength);
      res
        .set(FEDAVG_ROUND_HEADER, String(outcome.round))
        .set(FEDAVG_PARTICIPANTS_HEADER, String(outcome.participants))
        .type('application/octet-stream')
        .send(Buffer.from(outcome.frame.buffer, outcome.frame.byteOffset, outcome.frame.byteLength));
    }),
  );
  return router;
}

/** Mount at /api/gossip. */
export function gossipRoutes(links: LinkRegistry): express.Router {
  const router = express.Router();
  router.get('/links', (_req, res) => {
    res.json({ nodes: links.list(), serverTime: Date.now() });
  });
  router.get('/links/:nodeId', (req, res) => {
    const found = links.get(req.params.nodeId);
    if (found === null) sendError(res, 'NOT_FOUND', 'no link report from this volunteer');
    else res.json(found);
  });
  return router;
}

/**
 * Reads a raw body up to `limit` bytes; null as soon as it is longer (from Content-Length when it
 * says so): the rest is left unread, for the caller to answer and close the connection.
 */
async function readBody(req: Request, limit: number): Promise<Uint8Array | null> {
  if (Number(req.get('content-length') ?? 0) > limit) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  // destroyOnReturn: false, so stopping early leaves the socket open for the answer.
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks, size));
}
