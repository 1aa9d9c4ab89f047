/**
 * Training-health alarms: what the coordinator raises when a job's training is going nowhere, as
 * the REST API (GET /api/jobs/:id/alarms, and JobInfo.alarms) and dashboards see them.
 */
import { z } from 'zod';

/**
 * `checkpoint-unchanged`: the averaged parameters stayed bit-identical over several checkpoints.
 * `test-loss-stalled`: the held-out loss has not improved over several checkpoints.
 * `training-loss-diverging`: volunteers report a non-finite or exploding training loss.
 * `contributions-rejected`: every checkpoint upload, or every averaging exchange, is refused.
 * `majority-class`: test accuracy is no better than always answering the most common class.
 */
export const TRAINING_ALARM_KINDS = [
  'checkpoint-unchanged',
  'test-loss-stalled',
  'training-loss-diverging',
  'contributions-rejected',
  'majority-class',
] as const;
export type TrainingAlarmKind = (typeof TRAINING_ALARM_KINDS)[number];

/** Each alarm's short title, as the event log and the dashboard banner name it. */
export const TRAINING_ALARM_TITLES: Readonly<Record<TrainingAlarmKind, string>> = {
  'checkpoint-unchanged': 'checkpoints unchanged',
  'test-loss-stalled': 'test loss not improving',
  'training-loss-diverging': 'training loss diverging',
  'contributions-rejected': 'contributions rejected',
  'majority-class': 'accuracy stuck at the majority class',
};

export const trainingAlarmSchema = z.object({
  kind: z.enum(TRAINING_ALARM_KINDS),
  /** When the coordinator raised it (ms since the epoch). */
  since: z.number().finite().nonnegative().max(1e15),
  /** The newest checkpoint the verdict looked at; null for alarms not about checkpoints. */
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable(),
  /** What the coordinator saw, with the figures. */
  observed: z.string().max(2048),
  /** What to try. */
  advice: z.string().max(2048),
});
export type TrainingAlarm = z.infer<typeof trainingAlarmSchema>;

/** A job's active alarms, at most one of each kind. */
export const trainingAlarmsSchema = z
  .array(trainingAlarmSchema)
  .max(TRAINING_ALARM_KINDS.length)
  .refine((alarms) => new Set(alarms.map((a) => a.kind)).size === alarms.length, {
    error: 'at most one alarm of each kind',
  });

/** GET /api/jobs/:id/alarms */
export const jobAlarmsResponseSchema = z.object({ jobId: z.string().max(64), alarms: trainingAlarmsSchema });
export type JobAlarmsResponse = z.infer<typeof jobAlarmsResponseSchema>;
