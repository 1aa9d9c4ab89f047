/**
 * The job spec: what an operator submits. Every field has a default, so `{ name: 'x' }` is a
 * complete job, and every rule has a message a person can act on. Shared by the coordinator,
 * the dashboard form and the trainer.
 */
import { z } from 'zod';
import { aggregationShortfall, aggregationSpecSchema, defaultAggregation } from './aggregation-spec.ts';
import { privacySpecSchema } from './privacy-spec.ts';
import { validationSpecSchema } from './validation-spec.ts';

export * from './privacy-spec.ts';
export * from './validation-spec.ts';

export const MODEL_PRESETS = ['mnist-mlp', 'mnist-cnn', 'gpt-nano', 'gpt-mini'] as const;
export type ModelPreset = (typeof MODEL_PRESETS)[number];
export const OPTIMIZERS = ['sgd', 'momentum', 'adam'] as const;
export const AVERAGING_MODES = ['gossip', 'fedavg'] as const;
export const GOSSIP_SCHEDULES = ['exponential', 'random'] as const;
export const CODECS = ['fp32', 'fp16', 'int8', 'topk'] as const;
export const JOB_STATUSES = ['queued', 'running', 'paused', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** A TF.js layers topology (model.json's modelTopology) is capped so a spec stays a small document. */
export const MAX_TOPOLOGY_BYTES = 256 * 1024;
/**
 * How deep objects and arrays may nest in a topology. A real one is about 10 deep (a layer's
 * initialiser config inside a functional model's layer list), a model nested in a model twice
 * that; 64 leaves room and keeps every recursive reader (JSON.stringify, tfjs's deserialiser)
 * far from the stack limit, which a 100,000-deep document overflows.
 */
export const MAX_TOPOLOGY_DEPTH = 64;

/**
 * True when objects and arrays in `value` nest deeper than `maxDepth` (the value itself is depth 1).
 * Iterative, so it is safe on any input, cyclic objects included; stops at the first level too deep.
 */
export function nestedDeeperThan(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [node, depth] = item;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > maxDepth) return true;
    for (const child of Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

const int = (what: string, min: number, max: number) =>
  z
    .number({ error: `${what} must be a number` })
    .int({ error: `${what} must be a whole number` })
    .min(min, { error: `${what} must be at least ${min}` })
    .max(max, { error: `${what} must be at most ${max}` });

const num = (what: string, min: number, max: number, { exclusiveMin = false } = {}) => {
  const base = z
    .number({ error: `${what} must be a number` })
    .refine(Number.isFinite, { error: `${what} must be finite` });
  return base
    .refine((v) => (exclusiveMin ? v > min : v >= min), {
      error: exclusiveMin ? `${what} must be greater than ${min}` : `${what} must be at least ${min}`,
    })
    .refine((v) => v <= max, { error: `${what} must be at most ${max}` });
};

export const modelSpecSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({
      kind: z.literal('preset'),
      preset: z.enum(MODEL_PRESETS, { error: `preset must be one of ${MODEL_PRESETS.join(', ')}` }),
    }),
    z.strictObject({
      kind: z.literal('topology'),
      /** The `modelTopology` of a TF.js layers model.json (a Sequential or functional model). */
      topology: z
        .record(z.string(), z.unknown(), {
          error: 'topology must be a JSON object (model.json modelTopology)',
        })
        // First, and aborting: the size check below serialises the document recursively.
        .refine((t) => !nestedDeeperThan(t, MAX_TOPOLOGY_DEPTH), {
          error: `topology is nested deeper than ${MAX_TOPOLOGY_DEPTH} levels of objects and arrays`,
          abort: true,
        })
        .refine((t) => JSON.stringify(t).length <= MAX_TOPOLOGY_BYTES, {
          error: `topology must be at most ${MAX_TOPOLOGY_BYTES / 1024} KiB of JSON`,
        })
        .refine(
          (t) => typeof t.class_name === 'string' && typeof t.config === 'object' && t.config !== null,
          {
            error: 'topology needs "class_name" and "config", as in a TF.js model.json modelTopology',
          },
        ),
    }),
  ],
  { error: 'model.kind must be "preset" or "topology"' },
);
export type ModelSpec = z.infer<typeof modelSpecSchema>;

export const optimizerSpecSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('sgd') }),
    z.strictObject({
      type: z.literal('momentum'),
      momentum: num('momentum', 0, 1, { exclusiveMin: false }).default(0.9),
      nesterov: z.boolean({ error: 'nesterov must be true or false' }).default(false),
    }),
    z.strictObject({
      type: z.literal('adam'),
      beta1: num('beta1', 0, 0.999999).default(0.9),
      beta2: num('beta2', 0, 0.99999999).default(0.999),
      epsilon: num('epsilon', 0, 1, { exclusiveMin: true }).default(1e-7),
    }),
  ],
  { error: `optimizer.type must be one of ${OPTIMIZERS.join(', ')}` },
);
export type OptimizerSpec = z.infer<typeof optimizerSpecSchema>;

export const trainingSpecSchema = z.strictObject({
  optimizer: optimizerSpecSchema.default({ type: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }),
  learningRate: num('learning rate', 0, 10, { exclusiveMin: true }).default(0.001),
  batchSize: int('batch size', 1, 4096).default(32),
  /** Optimizer steps a volunteer runs on one shard (H); a shard holds batchSize × localSteps samples. */
  localSteps: int('local steps', 1, 10_000).default(10),
  epochs: int('epochs', 1, 1000).default(2),
  /**
   * An epoch is the first this many samples of the training split (all of it when absent or
   * larger): a budget smaller than a large corpus, the same samples in every epoch.
   */
  samplesPerEpoch: int('samples per epoch', 1, 1e9).optional(),
  /** Stop early once a checkpoint evaluates at or above this test accuracy (0–1). */
  targetAccuracy: num('target accuracy', 0, 1, { exclusiveMin: true }).optional(),
  seed: int('seed', 0, 2 ** 31 - 1).default(1),
});
export type TrainingSpec = z.infer<typeof trainingSpecSchema>;

/**
 * The outer optimizer (DiLoCo-style): a volunteer keeps the last synchronised model and, every
 * `syncEvery` shards, exchanges its pseudo-gradient (synchronised − local) instead of its model;
 * the average is applied with an outer Nesterov momentum step. learningRate 1 and momentum 0 are
 * plain averaging every `syncEvery` shards. The maths: packages/gossip/src/any/outer-optimizer.ts.
 */
export const outerSpecSchema = z.strictObject({
  /** Shards trained between two synchronisations. */
  syncEvery: int('outer syncEvery (shards)', 1, 10_000).default(4),
  /**
   * η 1, μ 0.5 measured best on the virtual swarm (packages/virtual/src/outer-swarm.test.ts: 91.6 %
   * against plain fp32's 91.3 %); DiLoCo's 0.7 and 0.9 reached 90.7 % there, the momentum having
   * too few synchronisations (about four per volunteer) to pay off.
   */
  learningRate: num('outer learning rate', 0, 10, { exclusiveMin: true }).default(1),
  momentum: num('outer momentum', 0, 1)
    .refine((v) => v < 1, { error: 'outer momentum must be less than 1' })
    .default(0.5),
});
export type OuterSpec = z.infer<typeof outerSpecSchema>;

export const averagingSpecSchema = z.strictObject({
  mode: z
    .enum(AVERAGING_MODES, { error: `averaging mode must be one of ${AVERAGING_MODES.join(', ')}` })
    .default('gossip'),
  schedule: z
    .enum(GOSSIP_SCHEDULES, { error: `schedule must be one of ${GOSSIP_SCHEDULES.join(', ')}` })
    .default('exponential'),
  codec: z.enum(CODECS, { error: `codec must be one of ${CODECS.join(', ')}` }).default('fp32'),
  /** Fraction of entries a top-k exchange sends. */
  topkFraction: num('top-k fraction', 0, 1, { exclusiveMin: true }).default(0.01),
  /** A gossip partner that does not answer within this is skipped. */
  exchangeTimeoutMs: int('exchange timeout (ms)', 100, 600_000).default(5_000),
  /** fedavg: how long the coordinator waits for a round's uploads. */
  roundDeadlineMs: int('round deadline (ms)', 1_000, 3_600_000).default(30_000),
  /** fedavg: fraction of active volunteers whose uploads make a round. */
  quorum: num('quorum', 0, 1, { exclusiveMin: true }).default(0.5),
  /**
   * gossip: a received model whose norm differs from one's own by more than this factor is
   * rejected. fedavg: an upload whose difference from the previous average is more than this
   * factor × the round's scale (the lower median of the uploads' differences) is refused as an
   * outlier; see packages/core/src/robust-aggregation.ts.
   */
  maxNormRatio: num('max norm ratio', 1, 1e6).default(10),
  /**
   * gossip: clipped gossip. A pair moves towards each other by at most τ: the partner's difference
   * ‖theirs − mine‖ is clipped to τ = the smaller of the two sides' clipMultiple × the median of
   * their last 16 pair distances, so a partner sending a far (sign-flipped, random) model moves an
   * honest one by at most τ/2 however far it is. Absent: no clipping.
   */
  clipMultiple: num('gossip clip multiple', 1, 1000).optional(),
  /** fedavg: how a round's uploads are averaged (aggregation-spec.ts). */
  aggregation: aggregationSpecSchema.default(defaultAggregation),
  /** Absent: plain averaging after every shard. Both modes (outerSpecSchema). */
  outer: outerSpecSchema.optional(),
});
export type AveragingSpec = z.infer<typeof averagingSpecSchema>;

export const checkpointSpecSchema = z.strictObject({
  /** A checkpoint is taken after this many completed shards (and always at the end). */
  everyShards: int('checkpoint interval (shards)', 1, 1_000_000).default(20),
  /** How many volunteers contribute parameters to one checkpoint. */
  contributors: int('checkpoint contributors', 1, 64).default(3),
  /** How long the coordinator waits for the contributors' uploads. */
  uploadTimeoutMs: int('checkpoint upload timeout (ms)', 1_000, 600_000).default(30_000),
  /**
   * An upload whose difference from the previous checkpoint is more than this factor × the round's
   * scale (the lower median of the uploads' differences) is rejected as an outlier; see
   * packages/core/src/robust-aggregation.ts.
   */
  maxNormRatio: num('checkpoint max norm ratio', 1, 1e6).default(10),
  /** How a round's uploads are averaged (aggregation-spec.ts); `clipped` uses maxNormRatio. */
  aggregation: aggregationSpecSchema.default(defaultAggregation),
});
export type CheckpointSpec = z.infer<typeof checkpointSpecSchema>;

/**
 * Most parameters a job's model may have: 50 M, 200 MB as fp32. Each copy of the model costs that
 * much, and there are many: a tab trains with the weights, their gradients and Adam's two moments
 * (800 MB, about what a browser tab can count on, and WebGPU's default 256 MiB buffer limit is
 * near one copy), every gossip exchange, FedAvg upload and checkpoint upload moves a 200 MB frame,
 * and the coordinator holds one per checkpoint contributor while it averages. A preset on a CSV
 * of 1 M columns would be 128 M parameters; it is refused at job creation with this limit.
 */
export const MAX_MODEL_PARAMETERS = 50_000_000;

/** Why a model of this many parameters is refused, or null when it is within MAX_MODEL_PARAMETERS. */
export function modelSizeProblem(parameterCount: number): string | null {
  if (parameterCount <= MAX_MODEL_PARAMETERS) return null;
  const n = (x: number) => x.toLocaleString('en-US');
  return `the model has ${n(parameterCount)} parameters; a job's model may have at most ${n(MAX_MODEL_PARAMETERS)} (${(MAX_MODEL_PARAMETERS * 4) / 1e6} MB as fp32)`;
}

/** A shard is what one shard download carries; the dataset API serves at most this many samples at once. */
export const MAX_SHARD_SAMPLES = 65_536;

export const jobSpecSchema = z
  .strictObject({
    name: z
      .string({ error: 'name must be text' })
      .trim()
      .min(1, { error: 'name must not be empty' })
      .max(100, { error: 'name must be at most 100 characters' }),
    model: modelSpecSchema.default({ kind: 'preset', preset: 'mnist-mlp' }),
    /** "mnist" (built in) or the id of an uploaded dataset. */
    dataset: z
      .string({ error: 'dataset must be text' })
      .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, { error: 'dataset must be "mnist" or an uploaded dataset id' })
      .default('mnist'),
    training: trainingSpecSchema.default(() => trainingSpecSchema.parse({})),
    averaging: averagingSpecSchema.default(() => averagingSpecSchema.parse({})),
    checkpoint: checkpointSpecSchema.default(() => checkpointSpecSchema.parse({})),
    /** Replicated shards and trust (validation-spec.ts); absent: off. */
    validation: validationSpecSchema.optional(),
    /** Clipped, noised shard updates and the ε they cost (privacy-spec.ts); absent: off. */
    privacy: privacySpecSchema.optional(),
    /** Share of volunteers relative to other running jobs (fair share by weight). */
    priority: int('priority', 1, 100).default(10),
  })
  .refine((spec) => spec.training.batchSize * spec.training.localSteps <= MAX_SHARD_SAMPLES, {
    error: `a shard (batch size × local steps) must hold at most ${MAX_SHARD_SAMPLES} samples`,
    path: ['training', 'localSteps'],
  })
  .refine((spec) => spec.privacy === undefined || spec.validation === undefined, {
    // A replica reports statistics of its raw update, which privacy would have to cover too, and
    // noised replicas could not agree.
    error: 'privacy cannot be combined with validation: replicated shards compare un-noised updates',
    path: ['privacy'],
  })
  .superRefine((spec, ctx) => {
    // A robust rule chosen for checkpoints must have the contributors to outvote one bad upload.
    const problem = aggregationShortfall(spec.checkpoint.aggregation, spec.checkpoint.contributors);
    if (problem !== null) {
      ctx.addIssue({
        code: 'custom',
        message: `${problem} (checkpoint.contributors is ${spec.checkpoint.contributors})`,
        path: ['checkpoint', 'aggregation', 'rule'],
      });
    }
  });
/** What a client sends: any field may be left out. */
export type JobSpecInput = z.input<typeof jobSpecSchema>;
/** The spec with every default filled in, as stored. */
export type JobSpec = z.output<typeof jobSpecSchema>;
