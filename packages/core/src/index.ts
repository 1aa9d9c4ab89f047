/**
 * @tabswarm/core: the rules the coordinator and the tabs apply identically. Pure TypeScript with no
 * DOM, Node or bundler dependency: it runs in the tab, the worker, Node and tests.
 */
export { mix32, mulberry32, randomVector, seededPermutation, shuffleInPlace } from './random.ts';
export { planBatches, shardOrder, shardSeed, type BatchPlan } from './shards.ts';
export {
  ModelError,
  buildJobModel,
  buildModel,
  getFlatWeights,
  layoutOf,
  modelMismatch,
  setFlatWeights,
  topologyFor,
  type DatasetShape,
  type Topology,
} from './model.ts';
export {
  InitializerError,
  computeFans,
  initialParameters,
  initializeWeight,
  seededStream,
  type InitializerConfig,
} from './seeded-init.ts';
export {
  CONTRIBUTION_REJECTIONS,
  judgeContribution,
  l2Norm,
  normAccepted,
  validateContribution,
  weightedMean,
  type Contribution,
  type ContributionRejection,
  type ContributionSummary,
  type NormBounds,
  type ValidationLimits,
  type ValidationResult,
} from './contribution.ts';
export {
  DEFAULT_CLIP_MULTIPLE,
  distanceFrom,
  lowerMedian,
  robustRound,
  type KeptUpload,
  type OutlierUpload,
  type RobustRound,
  type RobustRoundOptions,
  type RoundUpload,
} from './robust-aggregation.ts';
export { aggregateRound, type AggregateOptions, type AggregateResult } from './aggregation.ts';
export {
  DEFAULT_LEASE_TIMING,
  STRAGGLER_FRACTION,
  extendedDeadline,
  isOverdue,
  isStraggler,
  leaseDeadline,
  type LeaseTiming,
  type LeaseWindow,
} from './lease-policy.ts';
export {
  DISTRUST_BELOW,
  INITIAL_TRUST,
  MAX_REPLICAS,
  VALIDATION_PROJECTIONS,
  isDistrusted,
  isReplicated,
  judgeReplicas,
  nextTrust,
  replicaSeed,
  resultsAgree,
  spotCheckRate,
  updateStatistics,
  type ReplicaJudgement,
  type ReplicaResult,
  type UpdateStatistics,
} from './validation.ts';
export {
  CausalSelfAttention,
  PositionEmbedding,
  TokenEmbedding,
  registerTabswarmLayers,
} from './layers/register.ts';
export {
  generateTokens,
  loadTabswarmModel,
  sampleWithTemperature,
  type GenerateOptions,
} from './text-generation.ts';
export {
  cryptoUniform,
  gaussianEpsilon,
  privatizeUpdate,
  type PrivacySettings,
  type PrivatizedUpdate,
  type UniformSource,
} from './privacy.ts';
