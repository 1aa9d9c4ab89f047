// Every composed kernel (common header + generated Params + shaders/<name>.wgsl) compiles on the
// WebGPU device without an error message, and its pipeline builds with the layout the host
// derives from the shader's declarations.
import { describe, expect, it } from 'vitest';
import { KERNEL_SHADERS } from '../any/kernel-shaders.ts';
import { sourceLocation, type KernelShader } from '../any/shader-sources.ts';
import { adapter, allowNoWebGPU, gpuDevice, onWebGPU } from './browser-setup.ts';
import { withGpu } from './gpu-test-fixture.ts';
import { getKernelPipeline } from './pipeline-cache.ts';

it('runs on tfjs WebGPU backend with an adapter', () => {
  if (!onWebGPU && allowNoWebGPU) {
    console.warn('No WebGPU adapter: GPU kernel tests skipped (VITE_TABSWARM_ALLOW_NO_WEBGPU=1).');
    return;
  }
  expect(
    adapter,
    'navigator.gpu.requestAdapter() returned null: is --enable-unsafe-webgpu set?',
  ).not.toBeNull();
  expect(onWebGPU).toBe(true);
});

describe.skipIf(!onWebGPU)('the composed shaders', () => {
  const shaders: readonly KernelShader[] = Object.values(KERNEL_SHADERS);

  it('compile without an error message', async () => {
    for (const shader of shaders) {
      // A compilation error is also a validation error; the messages below say where it is.
      gpuDevice.pushErrorScope('validation');
      const module = gpuDevice.createShaderModule({ label: shader.name, code: shader.source });
      const info = await module.getCompilationInfo();
      await gpuDevice.popErrorScope();
      const errors = info.messages
        .filter((m) => m.type === 'error')
        .map((m) => `${sourceLocation(shader, m.lineNum)}:${m.linePos} ${m.message}`);
      expect(errors, shader.name).toEqual([]);
    }
  });

  it('build pipelines with the bind group layouts read from their declarations', async () => {
    // withGpu fails on any validation error, such as a layout that does not match the shader.
    await withGpu(gpuDevice, () => {
      for (const shader of shaders) getKernelPipeline(gpuDevice, shader, {});
    });
  });
});
