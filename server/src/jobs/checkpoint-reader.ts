/**
 * Reading a job's checkpoints: their summaries (with a text model's perplexity and bits per
 * character), and their verified frames and exported models. Checkpointing, which writes them,
 * extends it.
 */
import path from 'node:path';
import type { DatasetShape } from '@tabswarm/core';
import { languageModelMetrics, type CheckpointSummary } from '@tabswarm/protocol';
import { readCheckpointFile } from '../checkpoints/checkpoint-files.ts';
import { exportModel, type ExportedModel } from '../checkpoints/export.ts';
import { loadLatestCheckpoint } from '../checkpoints/latest-checkpoint.ts';
import type { CheckpointRecord, CheckpointRepository } from '../store/checkpoint-repository.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import { summary } from './checkpoint-round.ts';
import type { JobModels } from './job-models.ts';

export interface CheckpointReaderDeps {
  readonly repo: CheckpointRepository;
  readonly dataDir: string;
  readonly scheduler: Pick<Scheduler, 'getJob'>;
  readonly datasetShape: (datasetId: string) => DatasetShape | undefined;
}

export class CheckpointReader {
  constructor(
    private readonly reading: CheckpointReaderDeps,
    protected readonly models: JobModels,
  ) {}

  latest(jobId: string): CheckpointSummary | null {
    const record = this.reading.repo.latest(jobId);
    return record ? this.withTextMetrics(jobId, summary(record)) : null;
  }

  list(jobId: string): CheckpointSummary[] {
    return this.reading.repo.list(jobId).map((r) => this.withTextMetrics(jobId, summary(r)));
  }

  /** A text model's checkpoint also reports perplexity and bits per character (from its loss). */
  private withTextMetrics(jobId: string, s: CheckpointSummary): CheckpointSummary {
    const job = this.reading.scheduler.getJob(jobId);
    const text = job && this.reading.datasetShape(job.spec.dataset)?.labelShape !== undefined;
    return text && s.loss !== null ? { ...s, ...languageModelMetrics(s.loss) } : s;
  }

  record(jobId: string, seq: number): CheckpointRecord | undefined {
    return this.reading.repo.get(jobId, seq);
  }

  /** The newest checkpoint whose file verifies: what a late joiner or restarted volunteer starts from. */
  async latestFrame(jobId: string): Promise<{ seq: number; frame: Uint8Array } | null> {
    const { latest } = await loadLatestCheckpoint(this.reading.repo, this.reading.dataDir, jobId);
    if (!latest) return null;
    const file = path.resolve(this.reading.dataDir, latest.record.file);
    const read = await readCheckpointFile(file, { jobId });
    return read.ok ? { seq: latest.record.seq, frame: read.frame } : null;
  }

  /** A checkpoint as its verified parameter frame. */
  async frame(jobId: string, seq: number): Promise<Uint8Array | null> {
    const record = this.reading.repo.get(jobId, seq);
    if (!record) return null;
    const read = await readCheckpointFile(path.resolve(this.reading.dataDir, record.file), { jobId });
    return read.ok ? read.frame : null;
  }

  async export(jobId: string, seq: number): Promise<ExportedModel | null> {
    const model = this.models.get(jobId);
    const record = this.reading.repo.get(jobId, seq);
    if (!model || !record) return null;
    const read = await readCheckpointFile(path.resolve(this.reading.dataDir, record.file), { jobId });
    if (!read.ok) return null;
    return exportModel(model.topology, model.layout, read.values);
  }
}
