/**
 * The submit form's state and its mapping to and from the job spec. Fields hold what the person
 * typed (text), so the coordinator's own validation speaks for every value: an empty field is left
 * out (the spec's default applies), anything else is sent as a number when it reads as one and as
 * typed otherwise. The server's messages start with the field path ("training.learningRate: …"),
 * which `fieldForPath` maps back to the field that shows them.
 */
import {
  jobSpecSchema,
  optimizerSpecSchema,
  type AVERAGING_MODES,
  type CODECS,
  type GOSSIP_SCHEDULES,
  type OPTIMIZERS,
  type JobSpec,
  type JobSpecInput,
  type ModelPreset,
} from '@tabswarm/protocol';

export type OptimizerType = (typeof OPTIMIZERS)[number];
export type AveragingMode = (typeof AVERAGING_MODES)[number];
export type GossipSchedule = (typeof GOSSIP_SCHEDULES)[number];
export type Codec = (typeof CODECS)[number];

/** Where each form field lives in the job spec. */
export const FIELD_PATHS = {
  name: 'name',
  priority: 'priority',
  modelKind: 'model.kind',
  preset: 'model.preset',
  topology: 'model.topology',
  dataset: 'dataset',
  optimizer: 'training.optimizer.type',
  momentum: 'training.optimizer.momentum',
  nesterov: 'training.optimizer.nesterov',
  beta1: 'training.optimizer.beta1',
  beta2: 'training.optimizer.beta2',
  epsilon: 'training.optimizer.epsilon',
  learningRate: 'training.learningRate',
  batchSize: 'training.batchSize',
  localSteps: 'training.localSteps',
  epochs: 'training.epochs',
  targetAccuracy: 'training.targetAccuracy',
  seed: 'training.seed',
  averagingMode: 'averaging.mode',
  schedule: 'averaging.schedule',
  codec: 'averaging.codec',
  topkFraction: 'averaging.topkFraction',
  exchangeTimeoutMs: 'averaging.exchangeTimeoutMs',
  roundDeadlineMs: 'averaging.roundDeadlineMs',
  quorum: 'averaging.quorum',
  maxNormRatio: 'averaging.maxNormRatio',
  checkpointEvery: 'checkpoint.everyShards',
  checkpointContributors: 'checkpoint.contributors',
  checkpointUploadTimeoutMs: 'checkpoint.uploadTimeoutMs',
  checkpointMaxNormRatio: 'checkpoint.maxNormRatio',
  replication: 'validation.replication',
  validationTolerance: 'validation.tolerance',
  clipNorm: 'privacy.clipNorm',
  noiseMultiplier: 'privacy.noiseMultiplier',
  privacyDelta: 'privacy.delta',
} as const;
export type FieldKey = keyof typeof FIELD_PATHS;

export interface JobForm {
  readonly name: string;
  readonly priority: string;
  readonly modelKind: 'preset' | 'topology';
  readonly preset: ModelPreset;
  /** A TF.js layers `modelTopology` read from an uploaded model.json, or null. */
  readonly topology: Readonly<Record<string, unknown>> | null;
  readonly dataset: string;
  readonly optimizer: OptimizerType;
  readonly momentum: string;
  readonly nesterov: boolean;
  readonly beta1: string;
  readonly beta2: string;
  readonly epsilon: string;
  readonly learningRate: string;
  readonly batchSize: string;
  readonly localSteps: string;
  readonly epochs: string;
  readonly targetAccuracy: string;
  readonly seed: string;
  readonly averagingMode: AveragingMode;
  readonly schedule: GossipSchedule;
  readonly codec: Codec;
  readonly topkFraction: string;
  readonly exchangeTimeoutMs: string;
  readonly roundDeadlineMs: string;
  readonly quorum: string;
  readonly maxNormRatio: string;
  readonly checkpointEvery: string;
  readonly checkpointContributors: string;
  readonly checkpointUploadTimeoutMs: string;
  readonly checkpointMaxNormRatio: string;
  /** Validated work: '' leaves it off. */
  readonly replication: string;
  readonly validationTolerance: string;
  /** Differential privacy: '' in both leaves it off. */
  readonly clipNorm: string;
  readonly noiseMultiplier: string;
  readonly privacyDelta: string;
}

const text = (value: number | undefined): string => (value === undefined ? '' : String(value));

/** Each optimizer's own defaults, so switching type shows them filled in. */
const MOMENTUM_DEFAULTS = optimizerSpecSchema.parse({ type: 'momentum' }) as {
  momentum: number;
  nesterov: boolean;
};
const ADAM_DEFAULTS = optimizerSpecSchema.parse({ type: 'adam' }) as {
  beta1: number;
  beta2: number;
  epsilon: number;
};

export function specToForm(spec: JobSpec): JobForm {
  const opt = spec.training.optimizer;
  const momentum = opt.type === 'momentum' ? opt : MOMENTUM_DEFAULTS;
  const adam = opt.type === 'adam' ? opt : ADAM_DEFAULTS;
  return {
    name: spec.name,
    priority: text(spec.priority),
    modelKind: spec.model.kind,
    preset: spec.model.kind === 'preset' ? spec.model.preset : 'mnist-mlp',
    topology: spec.model.kind === 'topology' ? spec.model.topology : null,
    dataset: spec.dataset,
    optimizer: opt.type,
    momentum: text(momentum.momentum),
    nesterov: momentum.nesterov,
    beta1: text(adam.beta1),
    beta2: text(adam.beta2),
    epsilon: text(adam.epsilon),
    learningRate: text(spec.training.learningRate),
    batchSize: text(spec.training.batchSize),
    localSteps: text(spec.training.localSteps),
    epochs: text(spec.training.epochs),
    targetAccuracy: text(spec.training.targetAccuracy),
    seed: text(spec.training.seed),
    averagingMode: spec.averaging.mode,
    schedule: spec.averaging.schedule,
    codec: spec.averaging.codec,
    topkFraction: text(spec.averaging.topkFraction),
    exchangeTimeoutMs: text(spec.averaging.exchangeTimeoutMs),
    roundDeadlineMs: text(spec.averaging.roundDeadlineMs),
    quorum: text(spec.averaging.quorum),
    maxNormRatio: text(spec.averaging.maxNormRatio),
    checkpointEvery: text(spec.checkpoint.everyShards),
    checkpointContributors: text(spec.checkpoint.contributors),
    checkpointUploadTimeoutMs: text(spec.checkpoint.uploadTimeoutMs),
    checkpointMaxNormRatio: text(spec.checkpoint.maxNormRatio),
    replication: text(spec.validation?.replication),
    validationTolerance: text(spec.validation?.tolerance),
    clipNorm: text(spec.privacy?.clipNorm),
    noiseMultiplier: text(spec.privacy?.noiseMultiplier),
    privacyDelta: text(spec.privacy?.delta),
  };
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** undefined for an empty field (left out), a number when it reads as one, else the text itself. */
export function numberOrText(value: string): number | string | undefined {
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  return NUMBER.test(trimmed) ? Number(trimmed) : trimmed;
}

/** Builds a nested object, leaving out undefined values and objects left empty. */
function compact(entries: Record<string, unknown>): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entries)) {
    if (value !== undefined) out[key] = value;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/** The spec to POST. Not validated here: the coordinator validates, and its messages are shown. */
export function formToSpec(form: JobForm): Record<string, unknown> {
  const optimizer =
    form.optimizer === 'momentum'
      ? { type: 'momentum', momentum: numberOrText(form.momentum), nesterov: form.nesterov }
      : form.optimizer === 'adam'
        ? {
            type: 'adam',
            beta1: numberOrText(form.beta1),
            beta2: numberOrText(form.beta2),
            epsilon: numberOrText(form.epsilon),
          }
        : { type: 'sgd' };
  const model =
    form.modelKind === 'topology'
      ? { kind: 'topology', topology: form.topology ?? undefined }
      : { kind: 'preset', preset: form.preset };
  return (
    compact({
      name: form.name,
      priority: numberOrText(form.priority),
      model: compact(model),
      dataset: form.dataset.trim() === '' ? undefined : form.dataset.trim(),
      training: compact({
        optimizer: compact(optimizer),
        learningRate: numberOrText(form.learningRate),
        batchSize: numberOrText(form.batchSize),
        localSteps: numberOrText(form.localSteps),
        epochs: numberOrText(form.epochs),
        targetAccuracy: numberOrText(form.targetAccuracy),
        seed: numberOrText(form.seed),
      }),
      averaging: compact({
        mode: form.averagingMode,
        schedule: form.schedule,
        codec: form.codec,
        topkFraction: numberOrText(form.topkFraction),
        exchangeTimeoutMs: numberOrText(form.exchangeTimeoutMs),
        roundDeadlineMs: numberOrText(form.roundDeadlineMs),
        quorum: numberOrText(form.quorum),
        maxNormRatio: numberOrText(form.maxNormRatio),
      }),
      checkpoint: compact({
        everyShards: numberOrText(form.checkpointEvery),
        contributors: numberOrText(form.checkpointContributors),
        uploadTimeoutMs: numberOrText(form.checkpointUploadTimeoutMs),
        maxNormRatio: numberOrText(form.checkpointMaxNormRatio),
      }),
      // Validated work is off unless a replication is given.
      validation:
        form.replication.trim() === ''
          ? undefined
          : compact({
              replication: numberOrText(form.replication),
              tolerance: numberOrText(form.validationTolerance),
            }),
      // Privacy is off unless a clip norm or a noise multiplier is given (the coordinator then
      // asks for whichever is missing).
      privacy:
        form.clipNorm.trim() === '' && form.noiseMultiplier.trim() === ''
          ? undefined
          : compact({
              clipNorm: numberOrText(form.clipNorm),
              noiseMultiplier: numberOrText(form.noiseMultiplier),
              delta: numberOrText(form.privacyDelta),
            }),
    }) ?? {}
  );
}

const PATH_TO_FIELD = new Map<string, FieldKey>(
  (Object.entries(FIELD_PATHS) as [FieldKey, string][]).map(([field, path]) => [path, field]),
);

/**
 * The field that shows an error at `path`: the field itself, else the closest enclosing one
 * ("model" → the model chooser in use, "training.optimizer" → the optimizer), else null (the
 * message is shown for the whole form).
 */
export function fieldForPath(path: string, form: Pick<JobForm, 'modelKind'>): FieldKey | null {
  if (path === 'model') return form.modelKind === 'topology' ? 'topology' : 'preset';
  if (path === 'training.optimizer') return 'optimizer';
  let p = path;
  for (;;) {
    const field = PATH_TO_FIELD.get(p);
    if (field !== undefined) return field;
    const dot = p.lastIndexOf('.');
    if (dot < 0) return null;
    p = p.slice(0, dot);
    if (p === 'model') return form.modelKind === 'topology' ? 'topology' : 'preset';
  }
}

/** Splits "training.learningRate: learning rate must be …" into its path and message. */
export function splitServerMessage(message: string): { path: string | null; text: string } {
  const match = /^([A-Za-z_][\w]*(?:\.[\w]+)*): (.+)$/s.exec(message);
  return match?.[1] !== undefined && match[2] !== undefined
    ? { path: match[1], text: match[2] }
    : { path: null, text: message };
}

export interface FormPreset {
  readonly id: string;
  readonly label: string;
  readonly description: string;
  readonly spec: JobSpecInput;
}

/** Starting points for the form; every field can still be changed. */
export const FORM_PRESETS: readonly FormPreset[] = [
  {
    id: 'mnist-mlp',
    label: 'MNIST · MLP',
    description: 'The built-in digits with a 128-unit MLP and Adam: the defaults.',
    spec: { name: 'mnist-mlp', model: { kind: 'preset', preset: 'mnist-mlp' } },
  },
  {
    id: 'mnist-cnn',
    label: 'MNIST · small CNN',
    description: 'Two conv/pool stages; slower per shard, more accurate.',
    spec: {
      name: 'mnist-cnn',
      model: { kind: 'preset', preset: 'mnist-cnn' },
      training: { batchSize: 32, localSteps: 10, epochs: 3 },
    },
  },
  {
    id: 'gpt-nano',
    label: 'Moby Dick · gpt-nano',
    description: 'A small character-level transformer on the built-in novel; watch bits per character fall.',
    spec: {
      name: 'gpt-nano',
      dataset: 'moby-dick',
      model: { kind: 'preset', preset: 'gpt-nano' },
      training: { learningRate: 0.005, batchSize: 8, localSteps: 10, epochs: 1 },
      checkpoint: { everyShards: 4, contributors: 2 },
    },
  },
  {
    id: 'gpt-mini',
    label: 'Moby Dick · gpt-mini',
    description:
      'A 10.7 M-parameter transformer (width 384, 6 layers) for volunteers with real GPUs; seconds a step without one.',
    spec: {
      name: 'gpt-mini',
      dataset: 'moby-dick',
      model: { kind: 'preset', preset: 'gpt-mini' },
      training: { learningRate: 0.0006, batchSize: 16, localSteps: 20, epochs: 1 },
      checkpoint: { everyShards: 8, contributors: 2 },
    },
  },
  {
    id: 'smoke',
    label: 'Quick check',
    description: 'One epoch of small shards with frequent checkpoints, to see a swarm work.',
    spec: {
      name: 'quick-check',
      training: { batchSize: 50, localSteps: 4, epochs: 1, learningRate: 0.01, optimizer: { type: 'sgd' } },
      checkpoint: { everyShards: 5, contributors: 2 },
    },
  },
];

export function presetForm(preset: FormPreset): JobForm {
  return specToForm(jobSpecSchema.parse(preset.spec));
}

export function defaultForm(): JobForm {
  const first = FORM_PRESETS[0];
  return first ? presetForm(first) : specToForm(jobSpecSchema.parse({ name: 'job' }));
}

/** A model.json (or a bare modelTopology) as the spec's topology; throws a readable Error. */
export function topologyFromModelJson(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('the file is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('the file is not a JSON object');
  }
  const root = parsed as Record<string, unknown>;
  const topology = 'modelTopology' in root ? root.modelTopology : root;
  if (typeof topology !== 'object' || topology === null || Array.isArray(topology)) {
    throw new Error('modelTopology is not an object');
  }
  const t = topology as Record<string, unknown>;
  // A Keras-style model.json nests the layers model one level down.
  const inner = typeof t.model_config === 'object' && t.model_config !== null ? t.model_config : t;
  return inner as Record<string, unknown>;
}
