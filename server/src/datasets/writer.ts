/**
 * Crash-safe creation of a dataset directory: every file is written into `.tmp-*` next to the
 * final directory, fsynced, and the directory renamed into place only when complete. A `.tmp-*`
 * left by a crash is removed the next time the registry opens (see registry.ts).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DatasetError } from './errors.ts';
import { BLOB_FILES, MANIFEST_FILE, type BlobName, type DatasetManifest } from './layout.ts';

export const TEMP_PREFIX = '.tmp-';
const BUFFER_BYTES = 1 << 20;

/** Buffered sequential writer that hashes what it writes. */
export class BlobWriter {
  private fd: number | undefined;
  private readonly buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  private used = 0;
  private readonly hash: crypto.Hash | undefined;
  bytes = 0;

  constructor(
    readonly file: string,
    { hash = true }: { hash?: boolean } = {},
  ) {
    this.fd = fs.openSync(file, 'wx');
    this.hash = hash ? crypto.createHash('sha256') : undefined;
  }

  write(data: Uint8Array): void {
    let from = 0;
    while (from < data.length) {
      const n = Math.min(data.length - from, BUFFER_BYTES - this.used);
      this.buffer.set(data.subarray(from, from + n), this.used);
      this.used += n;
      from += n;
      if (this.used === BUFFER_BYTES) this.flush();
    }
    this.bytes += data.length;
  }

  private flush(): void {
    if (this.used === 0 || this.fd === undefined) return;
    const chunk = this.buffer.subarray(0, this.used);
    this.hash?.update(chunk);
    let written = 0;
    while (written < chunk.length) written += fs.writeSync(this.fd, chunk, written, chunk.length - written);
    this.used = 0;
  }

  /** Flushes, fsyncs and closes; returns the sha256 hex digest (empty without hashing). */
  finish(): string {
    this.flush();
    if (this.fd !== undefined) {
      fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
    return this.hash?.digest('hex') ?? '';
  }

  close(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A dataset being written. `commit` makes it visible atomically; `discard` leaves nothing. */
export class DatasetDraft {
  readonly dir: string;
  private readonly writers = new Map<BlobName, BlobWriter>();
  private readonly checksums: Partial<Record<BlobName, string>> = {};
  private readonly scratch: BlobWriter[] = [];

  constructor(
    readonly datasetsDir: string,
    readonly id: string,
  ) {
    fs.mkdirSync(datasetsDir, { recursive: true });
    this.dir = fs.mkdtempSync(path.join(datasetsDir, `${TEMP_PREFIX}${id}-`));
  }

  blob(name: BlobName): BlobWriter {
    let writer = this.writers.get(name);
    if (!writer) {
      writer = new BlobWriter(path.join(this.dir, BLOB_FILES[name]));
      this.writers.set(name, writer);
    }
    return writer;
  }

  /** A temporary file inside the draft (removed with it), e.g. rows before the shuffle. */
  scratchFile(name: string): BlobWriter {
    const writer = new BlobWriter(path.join(this.dir, `scratch-${name}`), { hash: false });
    this.scratch.push(writer);
    return writer;
  }

  finishBlob(name: BlobName): void {
    const writer = this.writers.get(name);
    if (writer) this.checksums[name] = writer.finish();
  }

  /** Blob checksums, finishing any blob still open. Every blob must have been written. */
  finishAll(): Record<BlobName, string> {
    for (const name of this.writers.keys()) if (this.checksums[name] === undefined) this.finishBlob(name);
    const { trainX, trainY, testX, testY } = this.checksums;
    if (trainX === undefined || trainY === undefined || testX === undefined || testY === undefined) {
      throw new DatasetError('INTERNAL', 'a dataset blob was never written');
    }
    return { trainX, trainY, testX, testY };
  }

  /** Writes the manifest and renames the directory into place. */
  commit(manifest: DatasetManifest): string {
    for (const s of this.scratch) {
      s.close();
      fs.rmSync(s.file, { force: true });
    }
    const file = path.join(this.dir, MANIFEST_FILE);
    const fd = fs.openSync(file, 'wx');
    try {
      fs.writeSync(fd, `${JSON.stringify(manifest, null, 2)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fsyncDir(this.dir);
    const target = path.join(this.datasetsDir, manifest.id);
    if (fs.existsSync(target)) throw new DatasetError('CONFLICT', `dataset ${manifest.id} already exists`);
    fs.renameSync(this.dir, target);
    fsyncDir(this.datasetsDir);
    return target;
  }

  discard(): void {
    for (const w of [...this.writers.values(), ...this.scratch]) {
      try {
        w.close();
      } catch {
        // Already closed or never opened: nothing to release.
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
