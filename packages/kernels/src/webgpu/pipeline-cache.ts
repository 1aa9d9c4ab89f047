/**
 * Compute pipelines for our WGSL kernels, created once per (device, kernel, override constants)
 * and cached, with explicit layouts and labels; the debug switch prints each one's composed WGSL.
 */
import { isKernelDebug } from '../any/debug.ts';
import { sourceLocation, type KernelShader } from '../any/shader-sources.ts';
import type { UniformDeclaration } from '../any/uniforms.ts';

export interface KernelPipeline<D extends UniformDeclaration = UniformDeclaration> {
  readonly shader: KernelShader<D>;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroupLayout: GPUBindGroupLayout;
}

interface KernelModule {
  readonly module: GPUShaderModule;
  readonly bindGroupLayout: GPUBindGroupLayout;
  readonly pipelineLayout: GPUPipelineLayout;
}

interface DeviceCache {
  readonly modules: Map<string, KernelModule>;
  readonly pipelines: Map<string, KernelPipeline>;
}

// Weak so that a lost or replaced device (tfjs re-initialised) takes its pipelines with it.
const caches = new WeakMap<GPUDevice, DeviceCache>();

export function getKernelPipeline<D extends UniformDeclaration>(
  device: GPUDevice,
  shader: KernelShader<D>,
  constants: Readonly<Record<string, number>>,
): KernelPipeline<D> {
  let cache = caches.get(device);
  if (cache === undefined) {
    cache = { modules: new Map(), pipelines: new Map() };
    caches.set(device, cache);
  }
  const constantsKey = Object.keys(constants)
    .sort()
    .map((name) => `${name}=${constants[name]}`)
    .join(',');
  const key = `${shader.name}[${constantsKey}]`;
  const cached = cache.pipelines.get(key);
  if (cached !== undefined) return cached as unknown as KernelPipeline<D>;

  const kernel = kernelModule(device, cache, shader);
  const label = `tabswarm.${key}`;
  const pipeline = device.createComputePipeline({
    label,
    layout: kernel.pipelineLayout,
    compute: { module: kernel.module, entryPoint: 'main', constants: { ...constants } },
  });
  if (isKernelDebug()) console.info(`[tabswarm kernels] pipeline ${label}\n${shader.source}`);
  const created: KernelPipeline<D> = { shader, pipeline, bindGroupLayout: kernel.bindGroupLayout };
  cache.pipelines.set(key, created);
  return created;
}

function kernelModule(device: GPUDevice, cache: DeviceCache, shader: KernelShader<UniformDeclaration>) {
  const cached = cache.modules.get(shader.name);
  if (cached !== undefined) return cached;
  const label = `tabswarm.${shader.name}`;
  const module = device.createShaderModule({ label, code: shader.source });
  if (isKernelDebug()) {
    void module.getCompilationInfo().then((info) => {
      for (const m of info.messages) {
        const where = `${sourceLocation(shader, m.lineNum)}:${m.linePos}`;
        console.info(`[tabswarm kernels] ${label}: ${where} ${m.type}: ${m.message}`);
      }
    });
  }
  // Explicit, because an 'auto' layout drops bindings the compiler finds unused. Binding 0 is the
  // Params slot (dynamic offset), then the storage buffers as the shader declares them.
  const bindGroupLayout = device.createBindGroupLayout({
    label,
    entries: [
      { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } },
      ...shader.storage.map((access, i): GPUBindGroupLayoutEntry => ({
        binding: i + 1,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: access === 'read' ? 'read-only-storage' : 'storage' },
      })),
    ],
  });
  const pipelineLayout = device.createPipelineLayout({ label, bindGroupLayouts: [bindGroupLayout] });
  const created = { module, bindGroupLayout, pipelineLayout };
  cache.modules.set(shader.name, created);
  return created;
}
