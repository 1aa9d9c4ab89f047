/**
 * Checkpoint payload files: <dataDir>/checkpoints/<jobId>/<seq>.tswf, each one parameter frame.
 * A file appears whole or not at all (temporary name, fsync, rename, fsync the directory), and a
 * reader verifies the frame's checksum, so a torn or corrupt file is reported, never trusted.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { decodeFrame, frameValues, type FrameErrorCode, type FrameHeader } from '@tabswarm/protocol';

export const CHECKPOINTS_DIR = 'checkpoints';
export const CHECKPOINT_EXTENSION = '.tswf';
const TEMP_SUFFIX = '.tmp';
const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const CHECKPOINT_NAME = /^(\d+)\.tswf$/;
// ".<seq>.tswf.<pid>-<random>.tmp": hidden, and never matches CHECKPOINT_NAME.
const TEMP_NAME = /^\.\d+\.tswf\.\d+-[0-9a-f]+\.tmp$/;

export type CheckpointFileErrorCode = 'CHECKPOINT_MISSING' | 'CHECKPOINT_UNREADABLE' | FrameErrorCode;

export interface CheckpointFileError {
  readonly ok: false;
  readonly code: CheckpointFileErrorCode;
  readonly message: string;
}

export interface CheckpointFile {
  readonly ok: true;
  readonly header: FrameHeader;
  /** The parameters: a view into `frame`. */
  readonly values: Float32Array;
  readonly frame: Uint8Array;
}

export interface WrittenCheckpoint {
  /** Absolute path of the file. */
  readonly path: string;
  /** Path relative to the data directory, for the metadata row: survives moving the data directory. */
  readonly relativePath: string;
  readonly bytes: number;
  /** The frame's CRC-32, as its header holds it. */
  readonly checksum: number;
  readonly elementCount: number;
}

function checkIds(jobId: string, seq: number): void {
  if (!JOB_ID_PATTERN.test(jobId)) throw new RangeError(`job id must match ${JOB_ID_PATTERN}`);
  if (!Number.isSafeInteger(seq) || seq < 0)
    throw new RangeError(`checkpoint seq must be a whole number ≥ 0`);
}

export function checkpointDir(dataDir: string, jobId: string): string {
  checkIds(jobId, 0);
  return path.join(dataDir, CHECKPOINTS_DIR, jobId);
}

export function checkpointRelativePath(jobId: string, seq: number): string {
  checkIds(jobId, seq);
  return path.join(CHECKPOINTS_DIR, jobId, `${seq}${CHECKPOINT_EXTENSION}`);
}

export function checkpointPath(dataDir: string, jobId: string, seq: number): string {
  return path.join(dataDir, checkpointRelativePath(jobId, seq));
}

/** fsync a directory so a rename in it is durable. Some platforms cannot open a directory; they lose nothing by skipping. */
async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw error;
  } finally {
    await handle?.close();
  }
}

/**
 * Writes a frame as checkpoint `seq` of a job, atomically; an existing file of that seq is replaced
 * (only an orphan from a crash before its metadata was recorded can be there). The frame is
 * verified first, so nothing unreadable is ever written. Rejects on I/O errors, leaving no temporary
 * file behind where it can remove it.
 */
export async function writeCheckpointFile(
  dataDir: string,
  jobId: string,
  seq: number,
  frame: Uint8Array,
): Promise<WrittenCheckpoint> {
  const decoded = decodeFrame(frame);
  if (!decoded.ok) throw new RangeError(`refusing to write an invalid frame: ${decoded.message}`);
  const relativePath = checkpointRelativePath(jobId, seq);
  const target = path.resolve(dataDir, relativePath);
  const dir = path.dirname(target);
  const created = await fs.mkdir(dir, { recursive: true });
  if (created !== undefined) {
    // New folders are entries in their parents: make those durable too, or the file can vanish with them.
    for (let p = dir; ; p = path.dirname(p)) {
      await syncDir(path.dirname(p));
      if (p === path.resolve(created) || path.dirname(p) === p) break;
    }
  }
  const temp = path.join(
    dir,
    `.${seq}${CHECKPOINT_EXTENSION}.${process.pid}-${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`,
  );
  try {
    const handle = await fs.open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(frame);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, target);
  } catch (error) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
  await syncDir(dir);
  return {
    path: target,
    relativePath,
    bytes: frame.length,
    checksum: decoded.header.checksum,
    elementCount: decoded.header.elementCount,
  };
}

export interface ReadOptions {
  /** Refuse a frame of another job (a file copied into the wrong folder). */
  readonly jobId?: string;
  readonly maxBytes?: number;
}

/** Reads and verifies a checkpoint file. Never rejects: every failure is a typed error. */
export async function readCheckpointFile(
  file: string,
  options: ReadOptions = {},
): Promise<CheckpointFile | CheckpointFileError> {
  let bytes: Uint8Array;
  try {
    const buffer = await fs.readFile(file);
    bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    return openError(file, error);
  }
  return verifyCheckpointBytes(file, bytes, options);
}

function openError(file: string, error: unknown): CheckpointFileError {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT'
    ? { ok: false, code: 'CHECKPOINT_MISSING', message: `${file} does not exist` }
    : { ok: false, code: 'CHECKPOINT_UNREADABLE', message: `${file}: ${(error as Error).message}` };
}

function verifyCheckpointBytes(
  file: string,
  bytes: Uint8Array,
  options: ReadOptions,
): CheckpointFile | CheckpointFileError {
  const decoded = decodeFrame(bytes, options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes });
  if (!decoded.ok) return { ok: false, code: decoded.code, message: `${file}: ${decoded.message}` };
  if (options.jobId !== undefined && decoded.header.jobId !== options.jobId) {
    return {
      ok: false,
      code: 'CHECKPOINT_UNREADABLE',
      message: `${file} holds a frame of job ${decoded.header.jobId}, not ${options.jobId}`,
    };
  }
  return { ok: true, header: decoded.header, values: frameValues(decoded), frame: bytes };
}

/** An open checkpoint file that verified: stream it (once), or close it. */
export interface VerifiedCheckpointFile {
  readonly ok: true;
  readonly header: FrameHeader;
  /** The file's length in bytes. */
  readonly bytes: number;
  /** Where the payload starts (for an fp32 frame: the parameters, little-endian). */
  readonly payloadOffset: number;
  /** The bytes from `start` to the end of the file, read from the file that verified; closes it at the end. */
  stream(start?: number): Readable;
  close(): Promise<void>;
}

type Verification = { readonly ok: true; readonly header: FrameHeader } | CheckpointFileError;

/**
 * Serves checkpoint files without reading them whole per request. A file is verified (read whole,
 * decoded, checksum checked, as readCheckpointFile does) once per identity (device, inode, size,
 * modification and change times), and requests arriving meanwhile share that one read; later
 * requests open the file, find its identity verified, and stream it from the handle they opened,
 * so what is streamed is the file that verified. Files are written once, by rename, so a new file
 * is a new identity; one changed in place changes its times and is verified again. Failures are
 * remembered the same way, so a corrupt file is not read again and again either.
 */
export class VerifiedCheckpointFiles {
  private readonly verified = new Map<string, { readonly key: string; readonly result: Verification }>();
  private readonly pending = new Map<string, Promise<Verification>>();

  /** `maxEntries`: files remembered at most (oldest forgotten first); each entry is a few hundred bytes. */
  constructor(private readonly maxEntries = 4096) {}

  /** Opens and verifies a checkpoint file. Never rejects: every failure is a typed error. */
  async open(file: string, options: ReadOptions = {}): Promise<VerifiedCheckpointFile | CheckpointFileError> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'r');
    } catch (error) {
      return openError(file, error);
    }
    try {
      const stat = await handle.stat();
      const key = [
        stat.dev,
        stat.ino,
        stat.size,
        stat.mtimeMs,
        stat.ctimeMs,
        options.jobId,
        options.maxBytes,
      ].join(':');
      const result = await this.verification(file, key, handle, options);
      if (!result.ok) {
        await handle.close();
        return result;
      }
      const { header } = result;
      let streamed = false;
      return {
        ok: true,
        header,
        bytes: stat.size,
        payloadOffset: stat.size - header.payloadBytes,
        stream(start = 0) {
          if (streamed) throw new Error('a verified checkpoint file streams once');
          streamed = true;
          return handle.createReadStream({ start, autoClose: true });
        },
        async close() {
          if (!streamed) await handle.close();
        },
      };
    } catch (error) {
      await handle.close().catch(() => undefined);
      return openError(file, error);
    }
  }

  private async verification(
    file: string,
    key: string,
    handle: fs.FileHandle,
    options: ReadOptions,
  ): Promise<Verification> {
    const known = this.verified.get(file);
    if (known?.key === key) return known.result;
    const id = `${file}\0${key}`;
    let pending = this.pending.get(id);
    if (!pending) {
      pending = (async (): Promise<Verification> => {
        const buffer = await handle.readFile();
        const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        const read = verifyCheckpointBytes(file, bytes, options);
        return read.ok ? { ok: true, header: read.header } : read;
      })();
      this.pending.set(id, pending);
      void pending.then(
        (result) => {
          this.pending.delete(id);
          this.verified.delete(file);
          this.verified.set(file, { key, result });
          if (this.verified.size > this.maxEntries) {
            const oldest = this.verified.keys().next().value;
            if (oldest !== undefined) this.verified.delete(oldest);
          }
        },
        () => this.pending.delete(id),
      );
    }
    return pending;
  }
}

/** Removes temporary files a crash left in one job's checkpoint folder; returns their names. */
export async function cleanupTempFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed = names.filter((name) => TEMP_NAME.test(name));
  await Promise.all(removed.map((name) => fs.rm(path.join(dir, name), { force: true })));
  return removed;
}

/** cleanupTempFiles over every job's folder, for start-up. Returns the removed paths, relative to dataDir. */
export async function cleanupAllTempFiles(dataDir: string): Promise<string[]> {
  const root = path.join(dataDir, CHECKPOINTS_DIR);
  let jobs: string[];
  try {
    jobs = (await fs.readdir(root, { withFileTypes: true }))
      .filter((d) => d.isDirectory() && JOB_ID_PATTERN.test(d.name))
      .map((d) => d.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed = await Promise.all(
    jobs.map(async (job) =>
      (await cleanupTempFiles(path.join(root, job))).map((name) => path.join(CHECKPOINTS_DIR, job, name)),
    ),
  );
  return removed.flat();
}

/** The seqs that have a checkpoint file in a job's folder, ascending (verified or not). */
export async function listCheckpointFiles(dataDir: string, jobId: string): Promise<number[]> {
  let names: string[];
  try {
    names = await fs.readdir(checkpointDir(dataDir, jobId));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .map((name) => CHECKPOINT_NAME.exec(name)?.[1])
    .filter((seq): seq is string => seq !== undefined)
    .map(Number)
    .filter(Number.isSafeInteger)
    .sort((a, b) => a - b);
}

/** Deletes one checkpoint file (retention); missing is fine. */
export async function removeCheckpointFile(dataDir: string, jobId: string, seq: number): Promise<void> {
  await fs.rm(checkpointPath(dataDir, jobId, seq), { force: true });
}
