/**
 * The job a volunteer trains and its parameters between shards: loading a job (from the snapshot
 * of the last shard when there is one, else from the coordinator's latest checkpoint), calibrating
 * once per job and backend, and after each shard the averaging hook and a new snapshot (what a
 * restarted compute starts from). The lease loop (volunteer-trainer.ts) decides when.
 */
import type { JobInfo, LeaseGrantInfo, ParamLayout } from '@tabswarm/protocol';
import type { CoordinatorApi } from '../coordinator-api.ts';
import type { ComputeSupervisor } from './compute-supervisor.ts';
import { FATAL_CODES } from './compute-supervisor.ts';
import { TrainerError, asTrainerError } from './errors.ts';
import type { AveragingHook, ShardParameters } from './trainer-ports.ts';
import type { TrainerState } from './trainer-status.ts';
import type { DownloadProgress } from '../download.ts';
import type { Calibration, DatasetShape, JobLoaded, ParameterSnapshot } from './types.ts';

/**
 * The parameters after the last shard, what a restart starts from: held here (values), or kept by
 * the compute where it runs (values null: saveSnapshot, the trainer's worker's Cache Storage).
 */
interface LastShard {
  readonly jobId: string;
  readonly values: Float32Array | null;
}

export interface LoadedJob {
  readonly info: JobInfo;
  readonly dataset: DatasetShape & { name: string };
  readonly layout: ParamLayout;
}

export interface TrainerJobDeps {
  readonly api: CoordinatorApi;
  readonly compute: ComputeSupervisor;
  readonly state: TrainerState;
  readonly averaging?: AveragingHook | undefined;
  readonly calibrationSteps?: number | undefined;
  /**
   * The compute downloads the checkpoint and keeps the restart snapshot itself, where it can
   * (ComputePort.loadJobFromCoordinator, saveSnapshot): the page never holds the parameters.
   */
  readonly parametersInCompute?: boolean | undefined;
}

export class TrainerJob {
  readonly #deps: TrainerJobDeps;
  readonly #calibrations = new Map<string, Calibration>();
  /** The job the compute has loaded; null after a (re)start of the compute. */
  current: LoadedJob | null = null;
  /** The job to restore after a restart, when the new compute has not loaded it yet. */
  wanted: string | null = null;
  /** The parameters after the last shard (null: start from the coordinator's checkpoint). */
  #last: LastShard | null = null;

  constructor(deps: TrainerJobDeps) {
    this.#deps = deps;
  }

  /** The last shard's parameters when held here (the compute keeps them otherwise), or null. */
  lastValues(): ParameterSnapshot | null {
    const last = this.#last;
    if (last === null || last.values === null) return null;
    return { jobId: last.jobId, values: last.values };
  }

  /** The next load starts from the coordinator's latest checkpoint (the local model is unusable). */
  forgetSnapshot(): void {
    this.#last = null;
  }

  /** Shows a parameter download's progress (a few updates a second: each reaches the page). */
  #showDownload(jobId: string): { onProgress: (download: DownloadProgress) => void; done: () => void } {
    const { state } = this.#deps;
    let shownAt = 0;
    return {
      onProgress: (download) => {
        const now = Date.now();
        if (now - shownAt < 200 && download.loaded !== download.total) return;
        shownAt = now;
        state.set({ download });
        state.emit({ type: 'download', jobId, progress: download });
      },
      done: () => {
        if (state.status.download !== null) {
          state.set({ download: null });
          state.emit({ type: 'download', jobId, progress: null });
        }
      },
    };
  }

  /** The job's parameters from the coordinator (or the cache), their download shown as it goes. */
  async #download(jobId: string, latestSeq: number | null): Promise<Float32Array> {
    const shown = this.#showDownload(jobId);
    try {
      const { values } = await this.#deps.api.getParameters(jobId, {
        latestSeq,
        onProgress: shown.onProgress,
      });
      return values;
    } finally {
      shown.done();
    }
  }

  /**
   * The job loaded into the compute: from the last shard's snapshot — held here, or kept by the
   * compute — else from the coordinator's latest checkpoint, downloaded by the compute itself where
   * it can (its worker), else here. Says which it was.
   */
  async #loadInto(
    info: JobInfo,
    dataset: DatasetShape,
    last: LastShard | null,
  ): Promise<{ loaded: JobLoaded; source: 'checkpoint' | 'snapshot' }> {
    const { compute } = this.#deps;
    const jobId = info.id;
    const latestSeq = info.latestCheckpoint?.seq ?? null;
    const inCompute = this.#deps.parametersInCompute === true;
    if (last !== null && last.values === null) {
      const job = { jobId, spec: info.spec, dataset, parameterCount: info.parameterCount };
      const loaded = await compute.use((c) =>
        c.loadJobFromSnapshot === undefined ? Promise.resolve(null) : c.loadJobFromSnapshot(job),
      );
      if (loaded !== null) return { loaded, source: 'snapshot' };
      // The kept snapshot is gone (the browser evicted it): the checkpoint, as for a new job.
    }
    if ((last === null || last.values === null) && inCompute) {
      const shown = this.#showDownload(jobId);
      try {
        const loaded = await compute.use((c) =>
          c.loadJobFromCoordinator === undefined
            ? Promise.resolve(null)
            : c.loadJobFromCoordinator(
                { jobId, spec: info.spec, dataset, latestSeq, parameterCount: info.parameterCount },
                shown.onProgress,
              ),
        );
        if (loaded !== null) return { loaded, source: 'checkpoint' };
      } finally {
        shown.done();
      }
    }
    const snapshot = last?.values ?? null;
    const values = snapshot ?? (await this.#download(jobId, latestSeq));
    if (info.parameterCount !== null && values.length !== info.parameterCount) {
      throw new TrainerError(
        'PARAMETERS_INVALID',
        `job ${jobId} has ${info.parameterCount} parameters, the coordinator sent ${values.length}`,
      );
    }
    const loaded = await compute.use((c) => c.loadJob({ jobId, spec: info.spec, dataset, values }));
    if (loaded.layout.total !== values.length) {
      throw new TrainerError(
        'PARAMETERS_INVALID',
        `the model has ${loaded.layout.total} parameters, not ${values.length}`,
      );
    }
    return { loaded, source: snapshot === null ? 'checkpoint' : 'snapshot' };
  }

  /** Loads the job into the compute and returns its calibration (measured once per job and backend). */
  async load(jobId: string): Promise<Calibration> {
    const { api, compute, state } = this.#deps;
    state.set({ phase: 'loading' });
    const info = await api.getJob(jobId);
    const dataset = await api.getDataset(info.spec.dataset);
    const last = this.#last?.jobId === jobId ? this.#last : null;
    const { loaded, source } = await this.#loadInto(info, dataset, last);
    this.current = { info, dataset, layout: loaded.layout };
    this.wanted = jobId;
    if (source === 'checkpoint') this.#last = null;
    state.set({ job: info, dataset });
    state.emit({ type: 'job', job: info, source });
    const key = `${jobId}:${state.status.backend?.backend ?? ''}`;
    let calibration = this.#calibrations.get(key);
    if (calibration === undefined) {
      state.set({ phase: 'calibrating' });
      calibration = await compute.use((c) => c.calibrate(this.#deps.calibrationSteps ?? 3));
      this.#calibrations.set(key, calibration);
      state.emit({ type: 'calibrated', jobId, calibration });
    }
    return calibration;
  }

  /**
   * The averaging hook, then a snapshot of the parameters (what a restart starts from): kept by
   * the compute where it can (parametersInCompute), else here.
   */
  async afterShard(grant: LeaseGrantInfo, signal: AbortSignal): Promise<void> {
    const job = this.current;
    if (job === null) return;
    const { compute, state } = this.#deps;
    const hook = this.#deps.averaging;
    if (hook !== undefined) {
      const params: ShardParameters = {
        jobId: job.info.id,
        layout: job.layout,
        read: async () => {
          const snapshot = await compute.use((c) => c.parameters());
          if (snapshot === null || snapshot.jobId !== job.info.id)
            throw new TrainerError('NO_JOB', 'the job is gone');
          return snapshot.values;
        },
        write: (values) => compute.use((c) => c.setParameters({ jobId: job.info.id, values })),
      };
      try {
        await hook.afterShard(params, { lease: grant, shardsDone: state.status.shardsDone, signal });
      } catch (error) {
        const e = asTrainerError(error);
        if (FATAL_CODES.has(e.code)) throw e;
        state.emit({ type: 'error', code: e.code, message: `averaging: ${e.message}` });
      }
    }
    if (this.#deps.parametersInCompute === true) {
      try {
        const kept = await compute.use((c) =>
          c.saveSnapshot === undefined ? Promise.resolve(null) : c.saveSnapshot(),
        );
        if (kept !== null) {
          this.#last = { jobId: kept.jobId, values: null };
          return;
        }
      } catch (error) {
        // Storage full, say: a restart starts from the checkpoint; the shard itself stands.
        const e = asTrainerError(error);
        if (FATAL_CODES.has(e.code)) throw e;
        this.#last = null;
        state.emit({ type: 'error', code: e.code, message: `restart snapshot not kept: ${e.message}` });
        return;
      }
    }
    const snapshot = await compute.use((c) => c.parameters());
    if (snapshot !== null) this.#last = snapshot;
  }
}
