/**
 * Evaluating a written checkpoint on the job's test set: the result is recorded with the
 * checkpoint, logged (a text model's also as bits per character in the event log), and a job that
 * reached its target accuracy is completed. A failed evaluation is recorded as such; it never
 * fails the checkpoint, whose file is already written.
 */
import type { DatasetShape } from '@tabswarm/core';
import { languageModelMetrics } from '@tabswarm/protocol';
import { evaluateParameters, evaluationPlan, type TestSet } from '../checkpoints/evaluate.ts';
import type { Evaluator } from '../checkpoints/evaluation-thread.ts';
import type { EventLog } from '../event-log.ts';
import type { Logger } from '../logger.ts';
import type { CheckpointRepository } from '../store/checkpoint-repository.ts';
import { isTerminal, type Scheduler } from '../scheduler/scheduler.ts';
import type { JobRecord } from '../scheduler/types.ts';
import type { JobModel } from './job-model.ts';

export interface EvaluationDeps {
  readonly repo: CheckpointRepository;
  readonly scheduler: Scheduler;
  readonly log: Logger;
  readonly events: EventLog;
  /** Dataset shape and test split, by dataset id. */
  readonly datasetShape: (datasetId: string) => DatasetShape | undefined;
  readonly testSet: (datasetId: string) => TestSet;
  /** Where evaluations run (the coordinator's evaluation thread); default: in this thread. */
  readonly evaluate?: Evaluator;
}

/** Evaluates checkpoint `seq` of the job (its parameters `values`) and records the outcome. */
export async function evaluateCheckpoint(
  deps: EvaluationDeps,
  now: () => number,
  model: JobModel,
  job: JobRecord,
  seq: number,
  values: Float32Array,
): Promise<void> {
  try {
    const testSet = deps.testSet(job.spec.dataset);
    const plan = evaluationPlan(testSet.n, values.length, testSet.labelsPerSample ?? 1);
    const result = await (deps.evaluate ?? evaluateParameters)(model.topology, values, testSet, plan);
    deps.repo.setEvaluation(job.id, seq, { ...result, evaluatedAt: now() });
    const text = deps.datasetShape(job.spec.dataset)?.labelShape !== undefined;
    const lm = languageModelMetrics(result.loss);
    deps.log.info(
      { jobId: job.id, seq, accuracy: result.accuracy, loss: result.loss, ...(text && lm) },
      'checkpoint evaluated',
    );
    if (text) {
      // A text model's figure of merit is not an accuracy: say it in the event log as well.
      deps.events.add(
        'checkpoint',
        `checkpoint ${seq}: held-out ${lm.bitsPerChar.toFixed(3)} bits/char, perplexity ${lm.perplexity.toFixed(2)}`,
        { jobId: job.id },
      );
    }
    const current = deps.scheduler.getJob(job.id);
    const target = job.spec.training.targetAccuracy;
    if (current && !isTerminal(current.status) && target !== undefined && result.accuracy >= target) {
      deps.scheduler.complete(job.id, `target accuracy ${target} reached (${result.accuracy.toFixed(4)})`);
    }
  } catch (error) {
    deps.repo.setEvaluationFailed(job.id, seq, (error as Error).message, now());
    deps.log.error({ err: error, jobId: job.id, seq }, 'checkpoint evaluation failed');
    deps.events.add('error', `checkpoint ${seq} evaluation failed: ${(error as Error).message}`, {
      jobId: job.id,
      level: 'error',
    });
  }
}
