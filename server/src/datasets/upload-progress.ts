/**
 * Progress of dataset uploads, by an id the client picks (`?uploadId=`), so a dashboard can poll
 * `GET /api/datasets/uploads/:uploadId` while the server parses and writes. In memory only:
 * an upload does not survive a restart either. Finished entries are kept a while, then pruned.
 */
import type { UploadStatus } from '@tabswarm/protocol';

export type { UploadPhase, UploadStatus } from '@tabswarm/protocol';

export const UPLOAD_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

export class UploadTracker {
  private readonly uploads = new Map<string, UploadStatus>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly keepMs = 10 * 60_000,
    private readonly maxEntries = 1000,
  ) {}

  /** Starts tracking; false when an upload with this id is still running. */
  start(uploadId: string, totalBytes: number | undefined): boolean {
    this.prune();
    const existing = this.uploads.get(uploadId);
    if (existing && (existing.phase === 'receiving' || existing.phase === 'processing')) return false;
    const now = this.now();
    this.uploads.delete(uploadId); // re-inserted last, so Map order stays oldest-first
    this.uploads.set(uploadId, {
      uploadId,
      phase: 'receiving',
      receivedBytes: 0,
      totalBytes: totalBytes ?? null,
      startedAt: now,
      updatedAt: now,
    });
    return true;
  }

  update(uploadId: string, patch: Partial<Omit<UploadStatus, 'uploadId' | 'startedAt' | 'updatedAt'>>): void {
    const current = this.uploads.get(uploadId);
    if (current) this.uploads.set(uploadId, { ...current, ...patch, updatedAt: this.now() });
  }

  get(uploadId: string): UploadStatus | undefined {
    return this.uploads.get(uploadId);
  }

  private prune(): void {
    const cutoff = this.now() - this.keepMs;
    for (const [id, status] of this.uploads) {
      const finished = status.phase === 'done' || status.phase === 'failed';
      if ((finished && status.updatedAt < cutoff) || (finished && this.uploads.size > this.maxEntries)) {
        this.uploads.delete(id);
      }
    }
  }
}
