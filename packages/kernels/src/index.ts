/**
 * Public API of @tabswarm/kernels: our WGSL kernels on tfjs's GPUDevice (GPUBuffer and tensor
 * entry points, the tensor ones falling back to the references without WebGPU), the composed
 * shader sources, and everything of the reference entry (./any/reference.ts).
 */
export * from './any/reference.ts';
export { isKernelDebug, setKernelDebug } from './any/debug.ts';
export { KERNEL_SHADERS, type KernelShaderName } from './any/kernel-shaders.ts';
export { COMMON_WGSL, composeShader, wgslFile, type KernelShader } from './any/shader-sources.ts';
export * from './any/uniforms.ts';

export type { ResultTarget } from './webgpu/argument-checks.ts';
export type { BufferPoolStats } from './webgpu/buffer-pool.ts';
export type { KernelOptions } from './webgpu/device-plan.ts';
export { isCpuEmulated } from './webgpu/heuristics.ts';
export { kernelBufferPoolStats, kernelDispatchCounts } from './webgpu/device-resources.ts';
export * from './webgpu/compression-tensors.ts';
export * from './webgpu/fp16-kernels.ts';
export * from './webgpu/gpu-device.ts';
export * from './webgpu/int8-kernels.ts';
export * from './webgpu/mix-kernel.ts';
export * from './webgpu/mix-tensors.ts';
export * from './webgpu/optimizer-kernels.ts';
export * from './webgpu/optimizer-tensors.ts';
export * from './webgpu/reduce-kernels.ts';
export * from './webgpu/reduce-tensors.ts';
export * from './webgpu/self-test.ts';
export * from './webgpu/topk-kernels.ts';
