/**
 * The job a simulation trains: a preset (the shared mnist-mlp job with gossip or FedAvg), a JSON
 * spec file, or a job already on the coordinator — submitted or looked up over the REST API.
 */
import fs from 'node:fs/promises';
import type { JobInfo, JobSpecInput } from '@tabswarm/protocol';
import { mnistMlpJob, type OperatorClient } from '@tabswarm/virtual';
import type { JobChoice } from './plan.ts';

/** Checkpoints often enough that the accuracy curve has points and a joiner finds a recent one. */
const CHECKPOINT = { everyShards: 2, contributors: 2 } as const;
const GOSSIP = { mode: 'gossip', exchangeTimeoutMs: 5_000 } as const;

/**
 * The presets run a fixed number of epochs, with no target accuracy, so a fault at `50%` lands
 * half-way through the job (a job that stops at its target jumps to 100 % when it gets there).
 */
export const JOB_PRESETS: Readonly<Record<string, (name: string) => JobSpecInput>> = {
  /** 3 epochs of 5 shards of 1,600 samples (25 local steps of 64). */
  'mnist-mlp': (name) =>
    mnistMlpJob(name, { averaging: GOSSIP, checkpoint: CHECKPOINT, targetAccuracy: null, epochs: 3 }),
  'mnist-mlp-fedavg': (name) =>
    mnistMlpJob(name, {
      averaging: { mode: 'fedavg' },
      checkpoint: CHECKPOINT,
      targetAccuracy: null,
      epochs: 3,
    }),
  /**
   * For swarms of hundreds: 8 epochs of 125 shards of 64 samples (one step each), 1,000 shards in
   * all, so that a thousand volunteers each get about one; a checkpoint every 50 shards.
   */
  'mnist-mlp-many': (name) =>
    mnistMlpJob(name, {
      averaging: GOSSIP,
      checkpoint: { everyShards: 50, contributors: 2 },
      targetAccuracy: null,
      epochs: 8,
      localSteps: 1,
    }),
};

export async function submitJob(operator: OperatorClient, choice: JobChoice, name: string): Promise<JobInfo> {
  switch (choice.kind) {
    case 'existing':
      return operator.getJob(choice.jobId);
    case 'preset': {
      const preset = JOB_PRESETS[choice.preset];
      if (preset === undefined)
        throw new Error(`unknown preset ${choice.preset} (one of ${Object.keys(JOB_PRESETS).join(', ')})`);
      return operator.createJob(preset(name));
    }
    case 'spec-file': {
      let spec: unknown;
      try {
        spec = JSON.parse(await fs.readFile(choice.path, 'utf8'));
      } catch (error) {
        throw new Error(`cannot read the job spec ${choice.path}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      return operator.createJob(spec as JobSpecInput);
    }
  }
}

/** Job progress 0–1: shards done over shards planned (every epoch of the spec). */
export const jobProgress = (job: JobInfo): number =>
  job.status === 'completed' ? 1 : job.totalShards === 0 ? 0 : Math.min(1, job.shardsDone / job.totalShards);
