/**
 * REST routes for a job's checkpoints and metrics: uploads from invited volunteers, the list,
 * the latest parameters (where late joiners start), downloads as a frame or as a TF.js model,
 * and the accuracy / loss series.
 */
import express, { type Request, type Response } from 'express';
import { ProtocolError } from '@tabswarm/protocol';
import { sendError, type HttpErrorCode } from '../http-errors.ts';
import type { Checkpointing } from './checkpointing.ts';
import type { JobService } from './job-service.ts';
import { replyWithError } from './routes.ts';

const SEQ = /^(0|[1-9][0-9]{0,8})$/;
const REQUEST_ID = /^[0-9a-f]{16}$/;

function bearer(req: Request): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
}

export function checkpointRoutes(
  jobs: JobService,
  checkpoints: Checkpointing,
  onError: (err: unknown) => void,
): express.Router {
  const router = express.Router({ mergeParams: true });
  const jobId = (req: Request): string => req.params.jobId as string;
  const handle = (fn: (req: Request, res: Response) => unknown) => async (req: Request, res: Response) => {
    try {
      jobs.get(jobId(req)); // 404 for unknown jobs before anything else
      await fn(req, res);
    } catch (error) {
      if (req.destroyed && !res.headersSent) return; // the client went away mid-body: nobody to answer
      if (!(error instanceof ProtocolError)) onError(error);
      replyWithError(res, error);
    }
  };
  const seqOf = (req: Request, res: Response): number | null => {
    const raw = req.params.seq as string;
    if (!SEQ.test(raw)) {
      sendError(res, 'NOT_FOUND', `no checkpoint ${raw.slice(0, 32)}`);
      return null;
    }
    return Number(raw);
  };

  // Authenticated before the body is read: a refusal is answered at once and the connection
  // closed, so nobody without the round's token makes the coordinator read or hold a frame.
  router.post(
    '/checkpoint-uploads/:requestId',
    handle(async (req, res) => {
      const refuse = (code: HttpErrorCode, message: string): void => {
        if (!req.readableEnded) res.set('Connection', 'close');
        sendError(res, code, message);
      };
      const requestId = req.params.requestId as string;
      if (!REQUEST_ID.test(requestId)) {
        refuse('NOT_FOUND', 'no such checkpoint round');
        return;
      }
      const job = jobs.get(jobId(req));
      const token = bearer(req);
      if (token === undefined) {
        refuse('UNAUTHORIZED', 'authenticate with the round token: Authorization: Bearer <token>');
        return;
      }
      try {
        checkpoints.uploader(job.id, requestId, token);
      } catch (error) {
        if (error instanceof ProtocolError && error.code === 'UNKNOWN_JOB')
          refuse('NOT_FOUND', error.message);
        else if (error instanceof ProtocolError && error.code === 'NOT_YOUR_LEASE')
          refuse('FORBIDDEN', error.message);
        else throw error;
        return;
      }
      if (!req.is('application/octet-stream')) {
        refuse('UNSUPPORTED_MEDIA_TYPE', 'upload the parameter frame as application/octet-stream');
        return;
      }
      const limit = (job.parameterCount ?? 0) * 4 + 1024;
      const body = await readBody(req, limit);
      if (body === null) {
        refuse('PAYLOAD_TOO_LARGE', `a parameter frame for this job is at most ${limit} bytes`);
        return;
      }
      try {
        const outcome = checkpoints.upload(job.id, requestId, token, body);
        if (outcome.accepted) res.json({ ok: true, accepted: true });
        else res.status(422).json({ ok: false, code: outcome.reason, message: outcome.message });
      } catch (error) {
        // The round closed while the body arrived.
        if (error instanceof ProtocolError && error.code === 'NOT_YOUR_LEASE')
          sendError(res, 'FORBIDDEN', error.message);
        else if (error instanceof ProtocolError && error.code === 'UNKNOWN_JOB')
          sendError(res, 'NOT_FOUND', error.message);
        else throw error;
      }
    }),
  );

  router.get(
    '/checkpoints',
    handle((req, res) => res.json({ checkpoints: checkpoints.list(jobId(req)) })),
  );

  router.get(
    '/parameters',
    handle(async (req, res) => {
      const latest = await checkpoints.latestFrame(jobId(req));
      if (!latest) {
        sendError(res, 'NOT_FOUND', 'this job has no readable checkpoint yet');
        return;
      }
      res
        .set('X-Checkpoint-Seq', String(latest.seq))
        .type('application/octet-stream')
        .send(Buffer.from(latest.frame));
    }),
  );

  router.get(
    '/checkpoints/:seq',
    handle(async (req, res) => {
      const seq = seqOf(req, res);
      if (seq === null) return;
      const frame = await checkpoints.frame(jobId(req), seq);
      if (!frame) {
        sendError(res, 'NOT_FOUND', `no readable checkpoint ${seq}`);
        return;
      }
      res
        .set('Content-Disposition', `attachment; filename="${jobId(req)}-checkpoint-${seq}.tswf"`)
        .type('application/octet-stream')
        .send(Buffer.from(frame));
    }),
  );

  // The TF.js export: model.json names weights.bin beside it, so tf.loadLayersModel(url) works.
  const exportPart = (part: 'model.json' | 'weights.bin') =>
    handle(async (req, res) => {
      const seq = seqOf(req, res);
      if (seq === null) return;
      const exported = await checkpoints.export(jobId(req), seq);
      if (!exported) {
        sendError(res, 'NOT_FOUND', `no readable checkpoint ${seq}`);
        return;
      }
      if (part === 'model.json')
        res.set('Content-Disposition', 'attachment; filename="model.json"').json(exported.modelJson);
      else res.type('application/octet-stream').send(Buffer.from(exported.weightsBin));
    });
  router.get('/checkpoints/:seq/model.json', exportPart('model.json'));
  router.get('/checkpoints/:seq/weights.bin', exportPart('weights.bin'));

  router.get(
    '/metrics',
    handle((req, res) => {
      const id = jobId(req);
      // `since` = how many training points the client has already: refreshes fetch only new ones.
      const since = req.query.since === undefined ? 0 : Number(req.query.since);
      if (!Number.isSafeInteger(since) || since < 0) {
        sendError(res, 'BAD_REQUEST', 'since must be a non-negative integer');
        return;
      }
      const training = jobs.scheduler.completions(id);
      res.json({
        checkpoints: checkpoints.list(id),
        training: training.slice(since),
        trainingTotal: training.length,
        samplesPerSecond: jobs.samplesPerSecond(id),
      });
    }),
  );

  return router;
}

/**
 * Reads a raw body up to `limit` bytes; null as soon as it is longer (from Content-Length when it
 * says so): the rest is left unread, for the caller to answer and close the connection.
 */
async function readBody(req: Request, limit: number): Promise<Uint8Array | null> {
  const declared = Number(req.get('content-length') ?? 0);
  if (declared > limit) return null;
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
