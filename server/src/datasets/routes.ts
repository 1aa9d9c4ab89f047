/**
 * `/api/datasets`: list and read manifests, upload datasets (operator only), and serve shards as
 * immutable binary with strong ETags. Uploads stream straight into the importers: nothing is
 * buffered whole (a text upload keeps its decoded characters, at most MAX_TEXT_CHARS), the size limit is enforced from Content-Length before reading and by counting
 * while reading, and a rejected upload leaves no dataset behind.
 */
import crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import express, { type Request, type Response } from 'express';
import { pino, type Logger } from 'pino';
import {
  MAX_TEXT_CONTEXT,
  MIN_TEXT_CONTEXT,
  NUMERIC_DEFAULTS,
  parseCsvColumnChoices,
  type CsvColumnChoices,
  type NumericDefault,
} from '@tabswarm/protocol';
import { requireOperator } from '../auth.ts';
import { sendError } from '../http-errors.ts';
import { DatasetError, badRequest } from './errors.ts';
import {
  DATASET_ID_PATTERN,
  SPLITS,
  featureCount,
  labelBytes,
  labelsPerSample,
  rowBytes,
  type DatasetManifest,
  type Split,
} from './layout.ts';
import type { DatasetRegistry } from './registry.ts';
import { SHARD_HEADER_BYTES, shardBytes } from './shard.ts';
import { UPLOAD_ID_PATTERN, UploadTracker } from './upload-progress.ts';

export interface DatasetLimits {
  /** Largest upload, in bytes; larger ones get 413 (before reading when Content-Length says so). */
  readonly maxUploadBytes: number;
  /** Most samples one shard request may ask for. */
  readonly maxShardSamples: number;
  /** Most bytes one shard may have (wide float32 datasets hit this before maxShardSamples). */
  readonly maxShardBytes: number;
  /** Uploads log their progress every this many bytes. */
  readonly progressLogBytes: number;
}

export const DEFAULT_DATASET_LIMITS: DatasetLimits = {
  maxUploadBytes: 256 * 1024 * 1024,
  maxShardSamples: 65_536,
  maxShardBytes: 64 * 1024 * 1024,
  progressLogBytes: 32 * 1024 * 1024,
};

const CSV_TYPES = new Set([
  'text/csv',
  'application/csv',
  'text/comma-separated-values',
  // What Windows browsers report for a .csv file picked in a form.
  'application/vnd.ms-excel',
]);
const BINARY_TYPES = new Set(['application/octet-stream', 'application/vnd.tabswarm.dataset']);
const TEXT_TYPES = new Set(['text/plain']);
type UploadFormat = 'csv' | 'binary' | 'text';

/** Reading a request body, counting bytes against the limit. Never destroys the request. */
class UploadBody {
  received = 0;
  ended = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly maxBytes: number,
    private readonly declaredBytes: number | undefined,
    private readonly onProgress: (received: number) => void,
  ) {}

  async *chunks(): AsyncGenerator<Uint8Array> {
    // destroyOnReturn: false, so an importer that stops early does not reset the connection
    // before the error response is written.
    for await (const chunk of this.req.iterator({ destroyOnReturn: false })) {
      const bytes = chunk as Buffer;
      this.received += bytes.length;
      if (this.received > this.maxBytes) {
        throw new DatasetError(
          'PAYLOAD_TOO_LARGE',
          `the upload is larger than the limit of ${this.maxBytes} bytes`,
        );
      }
      this.onProgress(this.received);
      yield bytes;
    }
    this.ended = true;
    if (this.declaredBytes !== undefined && this.received !== this.declaredBytes) {
      throw badRequest(`the upload ended after ${this.received} of ${this.declaredBytes} bytes`);
    }
  }

  /**
   * Reads and discards the rest, up to the limit, so that the client is done sending when the
   * error arrives (browsers report an upload cut short as a network error, not as our 4xx).
   * False when the rest is over the limit: then the connection is closed instead.
   */
  drain(): Promise<boolean> {
    const req = this.req;
    if (req.readableEnded) return Promise.resolve(true);
    return new Promise((resolve) => {
      const cleanup = (): void => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onFail);
        req.off('close', onFail);
      };
      const onData = (chunk: Buffer): void => {
        this.received += chunk.length;
        if (this.received > this.maxBytes) {
          cleanup();
          req.pause();
          resolve(false);
        }
      };
      const onEnd = (): void => {
        cleanup();
        resolve(true);
      };
      const onFail = (): void => {
        cleanup();
        resolve(false);
      };
      req.on('data', onData);
      req.once('end', onEnd);
      req.once('error', onFail);
      req.once('close', onFail);
      req.resume();
    });
  }
}

function queryValue(req: Request, name: string): string | undefined {
  const value: unknown = (req.query as Record<string, unknown>)[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`give the query parameter "${name}" once, as text`);
  return value;
}

function queryNumber(
  req: Request,
  name: string,
  min: number,
  max: number,
  integer: boolean,
): number | undefined {
  const raw = queryValue(req, name);
  if (raw === undefined) return undefined;
  const value = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw badRequest(
      `${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got "${raw}"`,
    );
  }
  return value;
}

/** `?columns=` JSON: per-column preprocessing; names are checked against the header later. */
function csvColumnChoices(req: Request): CsvColumnChoices | undefined {
  const raw = queryValue(req, 'columns');
  if (raw === undefined) return undefined;
  const parsed = parseCsvColumnChoices(raw);
  if (!parsed.ok) throw badRequest(parsed.message);
  return parsed.choices;
}

/** `?numeric=`: what numeric columns without a choice get. */
function numericPreprocessing(req: Request): NumericDefault | undefined {
  const raw = queryValue(req, 'numeric');
  if (raw === undefined) return undefined;
  if (!(NUMERIC_DEFAULTS as readonly string[]).includes(raw)) {
    throw badRequest(`numeric: must be one of ${NUMERIC_DEFAULTS.join(', ')}, got "${raw.slice(0, 32)}"`);
  }
  return raw as NumericDefault;
}

function uploadFormat(req: Request): UploadFormat {
  const format = queryValue(req, 'format');
  if (format === 'csv' || format === 'binary' || format === 'text') return format;
  if (format !== undefined)
    throw badRequest(`format must be "csv", "binary" or "text", got "${format.slice(0, 32)}"`);
  const type = (req.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (CSV_TYPES.has(type)) return 'csv';
  if (BINARY_TYPES.has(type)) return 'binary';
  if (TEXT_TYPES.has(type)) return 'text';
  throw new DatasetError(
    'UNSUPPORTED_MEDIA_TYPE',
    `send a CSV as Content-Type: text/csv, UTF-8 text as text/plain or a dataset file as application/octet-stream (got "${type || 'none'}"); ?format=csv|text|binary overrides`,
  );
}

function contentLength(req: Request): number | undefined {
  const raw = req.get('content-length');
  if (raw === undefined) return undefined;
  if (!/^\d{1,15}$/.test(raw)) throw badRequest('Content-Length must be a whole number');
  return Number(raw);
}

/** Weak comparison, as RFC 9110 prescribes for If-None-Match. */
function matchesETag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === etag;
  });
}

function toHttpError(err: unknown, log: Logger): DatasetError {
  if (err instanceof DatasetError) {
    if (err.code === 'INTERNAL') log.error({ err }, 'dataset request failed');
    return err;
  }
  log.error({ err }, 'dataset request failed');
  return new DatasetError('INTERNAL', 'internal error');
}

export function datasetRoutes(
  registry: DatasetRegistry,
  operatorToken: string,
  limits: Partial<DatasetLimits> = {},
  log: Logger = pino({ level: 'silent' }),
): express.Router {
  const lim: DatasetLimits = { ...DEFAULT_DATASET_LIMITS, ...limits };
  const uploads = new UploadTracker();
  const router = express.Router();

  const resolve = async (id: string): Promise<DatasetManifest> => {
    const manifest = DATASET_ID_PATTERN.test(id) ? await registry.resolve(id) : undefined;
    if (manifest === undefined) throw new DatasetError('NOT_FOUND', `no dataset "${id.slice(0, 64)}"`);
    return manifest;
  };
  const fail = (res: Response, err: unknown): void => {
    const e = toHttpError(err, log);
    sendError(res, e.code, e.message);
  };

  router.get('/', (_req, res) => {
    res.json({ ok: true, datasets: registry.list() });
  });

  router.get('/uploads/:uploadId', (req, res) => {
    const status = uploads.get(req.params.uploadId);
    if (status === undefined) sendError(res, 'NOT_FOUND', `no upload "${req.params.uploadId.slice(0, 64)}"`);
    else res.json({ ok: true, upload: status });
  });

  router.get('/:id', async (req, res) => {
    try {
      res.json({ ok: true, dataset: await resolve(req.params.id) });
    } catch (err) {
      fail(res, err);
    }
  });

  router.get('/:id/samples', async (req, res) => {
    try {
      const split = (queryValue(req, 'split') ?? 'train') as Split;
      if (!SPLITS.includes(split)) throw badRequest(`split must be "train" or "test", got "${split}"`);
      const startText = queryValue(req, 'start');
      const endText = queryValue(req, 'end');
      if (startText === undefined || endText === undefined) {
        throw badRequest('give the sample range as ?start=FIRST&end=PAST_LAST');
      }
      for (const [name, text] of [
        ['start', startText],
        ['end', endText],
      ] as const) {
        if (!/^\d{1,15}$/.test(text))
          throw badRequest(`${name} must be a whole number, got "${text.slice(0, 32)}"`);
      }
      const start = Number(startText);
      const end = Number(endText);
      const manifest = await resolve(req.params.id);
      registry.checkRange(manifest.id, split, start, end, lim.maxShardSamples);
      const bytes = shardBytes({
        dtype: manifest.dtype,
        labelDtype: manifest.labelDtype,
        count: end - start,
        featureCount: featureCount(manifest.featureShape),
        labelsPerSample: labelsPerSample(manifest),
      });
      if (bytes > lim.maxShardBytes) {
        const perSample = rowBytes(manifest) + labelBytes(manifest);
        const most = Math.floor((lim.maxShardBytes - SHARD_HEADER_BYTES - 3) / perSample);
        throw badRequest(
          `a shard is at most ${lim.maxShardBytes} bytes; ${end - start} samples of this dataset are ${bytes} bytes (ask for at most ${most})`,
        );
      }
      const etag = registry.shardETag(manifest.id, split, start, end);
      res.set({
        ETag: etag,
        'Cache-Control': 'public, max-age=31536000, immutable',
      });
      if (matchesETag(req.get('if-none-match'), etag)) {
        res.status(304).end();
        return;
      }
      const shard = registry.readRaw(manifest.id, split, start, end);
      res
        .status(200)
        .set({ 'Content-Type': 'application/octet-stream', 'Content-Length': String(shard.length) });
      res.end(shard);
    } catch (err) {
      res.removeHeader('ETag');
      res.removeHeader('Cache-Control');
      fail(res, err);
    }
  });

  router.post('/', requireOperator(operatorToken), async (req, res) => {
    let body: UploadBody | undefined;
    let uploadId: string | undefined;
    try {
      const format = uploadFormat(req);
      const encoding = req.get('content-encoding');
      if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
        throw new DatasetError(
          'UNSUPPORTED_MEDIA_TYPE',
          `compressed uploads (Content-Encoding: ${encoding}) are not supported`,
        );
      }
      const name = queryValue(req, 'name');
      const labelColumn = queryValue(req, 'label');
      const testFraction = queryNumber(req, 'testFraction', 0, 1, false);
      const seed = queryNumber(req, 'seed', 0, 2 ** 31 - 1, true);
      const columns = csvColumnChoices(req);
      const numericDefault = numericPreprocessing(req);
      const context = queryNumber(req, 'context', MIN_TEXT_CONTEXT, MAX_TEXT_CONTEXT, true);
      if (format !== 'text' && context !== undefined) {
        throw badRequest('context applies to text uploads (Content-Type: text/plain)');
      }
      if (format === 'text' && (labelColumn ?? columns ?? numericDefault) !== undefined) {
        throw badRequest(
          'label, columns and numeric apply to CSV uploads; a text upload takes context, testFraction and seed',
        );
      }
      if (
        format === 'binary' &&
        (labelColumn ?? testFraction ?? seed ?? columns ?? numericDefault) !== undefined
      ) {
        throw badRequest(
          'label, testFraction, seed, columns and numeric apply to CSV uploads; a dataset file is already split and preprocessed',
        );
      }
      const requestedId = queryValue(req, 'uploadId');
      if (requestedId !== undefined && !UPLOAD_ID_PATTERN.test(requestedId)) {
        throw badRequest('uploadId must be 8–64 letters, digits, "-" or "_"');
      }
      const declared = contentLength(req);
      if (declared !== undefined && declared > lim.maxUploadBytes) {
        res.set('Connection', 'close');
        throw new DatasetError(
          'PAYLOAD_TOO_LARGE',
          `the upload is ${declared} bytes; the limit is ${lim.maxUploadBytes} bytes`,
        );
      }
      if (declared === 0) throw badRequest('the upload is empty');
      const id = requestedId ?? `up-${crypto.randomBytes(8).toString('hex')}`;
      if (!uploads.start(id, declared)) throw new DatasetError('CONFLICT', `upload ${id} is still running`);
      uploadId = id;

      let nextLog = lim.progressLogBytes;
      body = new UploadBody(req, lim.maxUploadBytes, declared, (received) => {
        uploads.update(id, { receivedBytes: received });
        if (received >= nextLog) {
          nextLog += lim.progressLogBytes;
          log.info(
            { uploadId: id, receivedBytes: received, totalBytes: declared ?? null },
            'dataset upload progress',
          );
        }
      });
      const chunks = body.chunks();
      async function* thenProcessing(): AsyncGenerator<Uint8Array> {
        yield* chunks;
        uploads.update(id, { phase: 'processing' });
      }
      const manifest =
        format === 'csv'
          ? await registry.importCsv(thenProcessing(), {
              name,
              labelColumn,
              testFraction,
              seed,
              columns,
              numericDefault,
            })
          : format === 'text'
            ? await registry.importText(thenProcessing(), { name, context, testFraction, seed })
            : await registry.importBinary(thenProcessing(), {
                name,
                maxBytes: lim.maxUploadBytes,
                declaredBytes: declared,
              });
      uploads.update(id, { phase: 'done', datasetId: manifest.id });
      log.info({ uploadId: id, dataset: manifest.id, bytes: body.received }, 'dataset uploaded');
      res.status(201).json({ ok: true, dataset: manifest, uploadId: id });
    } catch (err) {
      if (req.socket.destroyed) {
        // The client went away mid-upload: nobody to answer, and the draft is already gone.
        if (uploadId !== undefined) {
          uploads.update(uploadId, {
            phase: 'failed',
            error: { code: 'ABORTED', message: 'the client closed the connection' },
          });
        }
        log.info({ uploadId }, 'dataset upload aborted by the client');
        return;
      }
      const e = toHttpError(err, log);
      if (uploadId !== undefined)
        uploads.update(uploadId, { phase: 'failed', error: { code: e.code, message: e.message } });
      if (body !== undefined && !body.ended && !req.readableEnded) {
        if (e.code === 'PAYLOAD_TOO_LARGE' || !(await body.drain())) res.set('Connection', 'close');
      }
      sendError(res, e.code, e.message);
    }
  });

  return router;
}
