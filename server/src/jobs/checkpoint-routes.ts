/**
 * REST routes for a job's checkpoints and metrics: uploads from invited volunteers, the list,
 * the latest parameters (where late joiners start), downloads as a frame or as a TF.js model,
 * and the accuracy / loss series.
 */
import path from 'node:path';
import { pipeline } from 'node:stream';
import express, { type Request, type Response } from 'express';
import { ProtocolError } from '@tabswarm/protocol';
import { VerifiedCheckpointFiles, type VerifiedCheckpointFile } from '../checkpoints/checkpoint-files.ts';
import type { LayersModelJson } from '../checkpoints/export.ts';
import { clientGone, sendError, type HttpErrorCode } from '../http-errors.ts';
import type { Checkpointing } from './checkpointing.ts';
import type { JobService } from './job-service.ts';
import { replyWithError } from './routes.ts';

const SEQ = /^(0|[1-9][0-9]{0,8})$/;
const REQUEST_ID = /^[0-9a-f]{16}$/;

function bearer(req: Request): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
}

/** model.json documents kept (they hold a topology, at most 256 KiB, and a weights manifest). */
const MODEL_JSON_CACHE = 64;

/** `dataDir`: where checkpoint files are (their metadata rows name them relative to it). */
export function checkpointRoutes(
  jobs: JobService,
  checkpoints: Checkpointing,
  onError: (err: unknown) => void,
  dataDir: string,
): express.Router {
  const router = express.Router({ mergeParams: true });
  const jobId = (req: Request): string => req.params.jobId as string;
  const handle = (fn: (req: Request, res: Response) => unknown) => async (req: Request, res: Response) => {
    try {
      jobs.get(jobId(req)); // 404 for unknown jobs before anything else
      await fn(req, res);
    } catch (error) {
      if (clientGone(req) && !res.headersSent) return; // the client went away mid-body: nobody to answer
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

  // Downloads stream the verified file; see VerifiedCheckpointFiles.
  const files = new VerifiedCheckpointFiles();
  /** A checkpoint's file, open, verified, and the file its metadata row describes; null otherwise. */
  const openCheckpoint = async (id: string, seq: number): Promise<VerifiedCheckpointFile | null> => {
    const record = checkpoints.record(id, seq);
    if (!record) return null;
    const file = await files.open(path.resolve(dataDir, record.file), { jobId: id });
    if (!file.ok) return null;
    if (file.header.checksum !== record.checksum || file.header.elementCount !== record.elementCount) {
      await file.close();
      return null;
    }
    return file;
  };
  const send = (res: Response, file: VerifiedCheckpointFile, start = 0): void => {
    res.set('Content-Length', String(file.bytes - start)).type('application/octet-stream');
    pipeline(file.stream(start), res, (error) => {
      // A client that goes away mid-download is no fault; the file is closed either way.
      if (error && error.code !== 'ERR_STREAM_PREMATURE_CLOSE') onError(error);
    });
  };

  router.get(
    '/parameters',
    handle(async (req, res) => {
      const id = jobId(req);
      // The newest checkpoint that verifies: older ones stand in for a bad newest.
      for (const { seq } of checkpoints.list(id).reverse()) {
        const file = await openCheckpoint(id, seq);
        if (!file) continue;
        res.set('X-Checkpoint-Seq', String(seq));
        send(res, file);
        return;
      }
      sendError(res, 'NOT_FOUND', 'this job has no readable checkpoint yet');
    }),
  );

  router.get(
    '/checkpoints/:seq',
    handle(async (req, res) => {
      const seq = seqOf(req, res);
      if (seq === null) return;
      const file = await openCheckpoint(jobId(req), seq);
      if (!file) {
        sendError(res, 'NOT_FOUND', `no readable checkpoint ${seq}`);
        return;
      }
      res.set('Content-Disposition', `attachment; filename="${jobId(req)}-checkpoint-${seq}.tswf"`);
      send(res, file);
    }),
  );

  // The TF.js export: model.json names weights.bin beside it, so tf.loadLayersModel(url) works.
  // weights.bin is the fp32 payload of the checkpoint's frame (little-endian, in layout order),
  // streamed; model.json (topology and manifest, no weights) is built once per checkpoint.
  const modelJsons = new Map<string, Promise<LayersModelJson | null>>();
  const modelJsonOf = (id: string, seq: number): Promise<LayersModelJson | null> => {
    const key = `${id}/${seq}`;
    let found = modelJsons.get(key);
    if (!found) {
      found = checkpoints.export(id, seq).then((exported) => exported?.modelJson ?? null);
      modelJsons.set(key, found);
      void found.then(
        (json) => json === null && modelJsons.delete(key),
        () => modelJsons.delete(key),
      );
      if (modelJsons.size > MODEL_JSON_CACHE) {
        const oldest = modelJsons.keys().next().value;
        if (oldest !== undefined) modelJsons.delete(oldest);
      }
    }
    return found;
  };
  const exportPart = (part: 'model.json' | 'weights.bin') =>
    handle(async (req, res) => {
      const seq = seqOf(req, res);
      if (seq === null) return;
      const id = jobId(req);
      const file = await openCheckpoint(id, seq);
      if (
        !file ||
        file.header.codec !== 'fp32' ||
        file.header.elementCount !== checkpoints.parameterCount(id)
      ) {
        await file?.close();
        sendError(res, 'NOT_FOUND', `no readable checkpoint ${seq}`);
        return;
      }
      if (part === 'weights.bin') {
        send(res, file, file.payloadOffset);
        return;
      }
      await file.close();
      const modelJson = await modelJsonOf(id, seq);
      if (!modelJson) sendError(res, 'NOT_FOUND', `no readable checkpoint ${seq}`);
      else res.set('Content-Disposition', 'attachment; filename="model.json"').json(modelJson);
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
