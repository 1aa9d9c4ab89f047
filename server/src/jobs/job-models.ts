/**
 * Each job's model description (topology and parameter layout), by job id. A coordinator learns
 * them when it creates a job or starts; on a shared store a job may have been created by another
 * coordinator after this one started, so a missing one is described on first use, once however
 * many callers ask meanwhile.
 */
import type { JobModel } from './job-model.ts';

export class JobModels {
  readonly #models = new Map<string, JobModel>();
  readonly #loading = new Map<string, Promise<void>>();

  constructor(
    /** Describes a job's model; undefined when the job or its dataset is unknown. */
    private readonly describe: (jobId: string) => Promise<JobModel | undefined>,
    private readonly onError: (jobId: string, error: unknown) => void,
  ) {}

  get(jobId: string): JobModel | undefined {
    return this.#models.get(jobId);
  }

  set(jobId: string, model: JobModel): void {
    this.#models.set(jobId, model);
  }

  /** The model, or undefined while it is described (started now when it is not yet). */
  getOrLoad(jobId: string): JobModel | undefined {
    const model = this.#models.get(jobId);
    if (model === undefined) void this.load(jobId);
    return model;
  }

  /** Describes the job's model unless known or under way; resolves when that is settled. */
  load(jobId: string): Promise<void> {
    if (this.#models.has(jobId)) return Promise.resolve();
    const pending = this.#loading.get(jobId);
    if (pending !== undefined) return pending;
    const load = this.describe(jobId)
      .then((model) => {
        if (model !== undefined) this.#models.set(jobId, model);
      })
      .catch((error: unknown) => this.onError(jobId, error))
      .finally(() => this.#loading.delete(jobId));
    this.#loading.set(jobId, load);
    return load;
  }
}
