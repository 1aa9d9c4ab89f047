/**
 * Compute pipelines for our WGSL kernels, created once per (device, kernel, override constants)
 * and cached, with explicit layouts and labels; the debug switch prints each one's WGSL.
 */
import { isKernelDebug } from '../any/debug.ts';

export interface KernelSpec {
  /** Short name used in labels and cache keys; unique per kernel. */
  readonly name: string;
  readonly wgsl: string;
  readonly entryPoint: string;
  /**
   * Explicit, because an 'auto' layout drops bindings the compiler finds unused, and a function,
   * because GPUShaderStage only exists where WebGPU does (this module also loads in Node).
   */
  readonly bindGroupLayout: () => GPUBindGroupLayoutDescriptor;
}

export interface KernelPipeline {
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

export function getKernelPipeline(
  device: GPUDevice,
  spec: KernelSpec,
  constants: Readonly<Record<string, number>>,
): KernelPipeline {
  let cache = caches.get(device);
  if (cache === undefined) {
    cache = { modules: new Map(), pipelines: new Map() };
    caches.set(device, cache);
  }
  const constantsKey = Object.keys(constants)
    .sort()
    .map((name) => `${name}=${constants[name]}`)
    .join(',');
  const key = `${spec.name}[${constantsKey}]`;
  const cached = cache.pipelines.get(key);
  if (cached !== undefined) return cached;

  const kernel = kernelModule(device, cache, spec);
  const label = `tabswarm.${key}`;
  const pipeline = device.createComputePipeline({
    label,
    layout: kernel.pipelineLayout,
    compute: { module: kernel.module, entryPoint: spec.entryPoint, constants: { ...constants } },
  });
  if (isKernelDebug()) console.info(`[tabswarm kernels] pipeline ${label}\n${spec.wgsl}`);
  const created = { pipeline, bindGroupLayout: kernel.bindGroupLayout };
  cache.pipelines.set(key, created);
  return created;
}

function kernelModule(device: GPUDevice, cache: DeviceCache, spec: KernelSpec): KernelModule {
  const cached = cache.modules.get(spec.name);
  if (cached !== undefined) return cached;
  const label = `tabswarm.${spec.name}`;
  const module = device.createShaderModule({ label, code: spec.wgsl });
  if (isKernelDebug()) {
    void module.getCompilationInfo().then((info) => {
      for (const m of info.messages) {
        console.info(`[tabswarm kernels] ${label}.wgsl:${m.lineNum}:${m.linePos} ${m.type}: ${m.message}`);
      }
    });
  }
  const bindGroupLayout = device.createBindGroupLayout({ label, ...spec.bindGroupLayout() });
  const pipelineLayout = device.createPipelineLayout({ label, bindGroupLayouts: [bindGroupLayout] });
  const created = { module, bindGroupLayout, pipelineLayout };
  cache.modules.set(spec.name, created);
  return created;
}
