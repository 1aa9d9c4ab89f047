/**
 * `@tabswarm/kernels/reference`: the kernels' TypeScript references with their tolerances and
 * comparisons, and the chunk planners. No GPU, no TensorFlow.js, no WGSL: loads anywhere.
 */
export * from './compare.ts';
export * from './fp16-reference.ts';
export * from './int8-reference.ts';
export * from './mix-compare.ts';
export * from './mix-plan.ts';
export * from './mix-reference.ts';
export * from './optimizer-reference.ts';
export * from './plan.ts';
export * from './reduce-reference.ts';
export * from './topk-reference.ts';
