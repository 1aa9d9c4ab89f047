/**
 * Starts TensorFlow.js on the best backend this context has — WebGPU, then WebGL, WebAssembly, CPU
 * — and says why it fell back. Works on a page, in a dedicated worker (WebGL there needs
 * OffscreenCanvas, which Chromium has) and in Node (WebAssembly and CPU; the .wasm files resolve
 * from node_modules there, while a bundled worker passes their URLs: worker/wasm-files.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { AdapterInfo, Backend } from '@tabswarm/protocol';
import { getTfjsDevice } from '@tabswarm/kernels';
import { errorText } from './errors.ts';
import type { BackendInfo } from './types.ts';

/** The limits that decide how large a model and a dispatch this GPU can take. */
const REPORTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupsPerDimension',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage',
] as const;

const clip = (text: string, max = 256): string => (text.length > max ? text.slice(0, max) : text);

export function describeAdapter(adapter: GPUAdapter): AdapterInfo {
  const limits: Record<string, number> = {};
  for (const name of REPORTED_LIMITS) {
    const value: unknown = adapter.limits[name];
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) limits[name] = value;
  }
  const info = adapter.info;
  return {
    vendor: clip(info.vendor),
    architecture: clip(info.architecture),
    device: clip(info.device),
    description: clip(info.description),
    isFallbackAdapter: Boolean(
      (info as Partial<GPUAdapterInfo>).isFallbackAdapter ??
      (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter,
    ),
    limits,
  };
}

/** A WebGPU adapter of this context, or why there is none. */
export async function probeWebGpu(): Promise<{ adapter: AdapterInfo | null; reason: string | null }> {
  const scope = globalThis as { isSecureContext?: boolean; navigator?: Partial<Navigator> };
  if (scope.isSecureContext === false) {
    return { adapter: null, reason: 'WebGPU needs a secure context (https, or http://localhost)' };
  }
  const gpu = scope.navigator?.gpu;
  if (gpu === undefined)
    return { adapter: null, reason: 'this browser has no WebGPU (navigator.gpu is missing)' };
  try {
    const adapter = await gpu.requestAdapter();
    if (adapter === null) {
      return {
        adapter: null,
        reason: 'requestAdapter() returned null: WebGPU is disabled or no GPU is usable',
      };
    }
    return { adapter: describeAdapter(adapter), reason: null };
  } catch (error) {
    return { adapter: null, reason: `requestAdapter() failed: ${errorText(error)}` };
  }
}

/** Where the WebAssembly backend finds its binaries: a prefix, or a URL per file (see setWasmPaths). */
export type WasmPaths = string | Readonly<Partial<Record<WasmBinaryName, string>>>;
export type WasmBinaryName =
  'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm';

export interface BackendChoice {
  /** Skip WebGPU (e.g. after its device was lost repeatedly); the reason is reported. */
  readonly avoidWebGpu?: string;
  /** Backends not to try, each with the reason to report (tests force a fallback this way). */
  readonly skip?: Readonly<Partial<Record<Backend, string>>>;
  /** Where the .wasm files are served (a bundled page or worker); Node reads them from node_modules. */
  readonly wasmPaths?: WasmPaths;
}

/** The order the backends are tried in, best first. */
export const BACKEND_ORDER: readonly Backend[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** Registers the lazily loaded backends (WebGPU's and WebAssembly's code is only fetched when tried). */
async function register(name: Backend, choice: BackendChoice): Promise<void> {
  if (name === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (choice.wasmPaths !== undefined) wasm.setWasmPaths(choice.wasmPaths);
    // Its threaded build (chosen when the page is cross-origin isolated, as the volunteer page is)
    // starts each thread from a Blob of its factory's source text, which a bundler's minification
    // breaks ("e is not defined" in every thread) and which a CSP without blob: scripts refuses.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  }
}

async function trySetBackend(name: Backend, choice: BackendChoice, reasons: string[]): Promise<boolean> {
  try {
    await register(name, choice);
  } catch (error) {
    reasons.push(`${name}: its TensorFlow.js backend did not load (${errorText(error)})`);
    return false;
  }
  if (tf.findBackendFactory(name) === null) {
    reasons.push(`${name}: not registered with TensorFlow.js`);
    return false;
  }
  try {
    if ((await tf.setBackend(name)) && tf.getBackend() === name) {
      await tf.ready();
      return true;
    }
    reasons.push(`${name}: TensorFlow.js could not initialise it`);
  } catch (error) {
    reasons.push(`${name}: ${errorText(error)}`);
  }
  return false;
}

/**
 * tfjs has one active backend per JavaScript context, and of two overlapping setBackend calls the
 * earlier one fails ("outdated" initialisation): starts in one context (virtual volunteers sharing
 * a Node process) take turns.
 */
let previousStart: Promise<unknown> = Promise.resolve();

/** Starts the best backend; throws when not even the CPU backend starts. */
export function startBackend(choice: BackendChoice = {}): Promise<BackendInfo> {
  const start = previousStart.then(
    () => chooseBackend(choice),
    () => chooseBackend(choice),
  );
  previousStart = start.catch(() => undefined);
  return start;
}

async function chooseBackend(choice: BackendChoice): Promise<BackendInfo> {
  const reasons: string[] = [];
  const probe = await probeWebGpu();
  for (const name of BACKEND_ORDER) {
    const skipped = name === 'webgpu' ? (choice.avoidWebGpu ?? choice.skip?.webgpu) : choice.skip?.[name];
    if (skipped !== undefined) {
      reasons.push(`${name}: ${skipped}`);
      continue;
    }
    if (name === 'webgpu' && probe.adapter === null) {
      reasons.push(`webgpu: ${probe.reason ?? 'no adapter'}`);
      continue;
    }
    if (await trySetBackend(name, choice, reasons)) {
      return {
        backend: name,
        fallbackReason: name === 'webgpu' ? null : reasons.join('; ').slice(0, 512),
        adapter: probe.adapter,
      };
    }
  }
  throw new Error(`no TensorFlow.js backend could start (${reasons.join('; ')})`);
}

/** Calls `onLost` once if tfjs's GPUDevice is lost (never when tfjs is not on WebGPU). */
export function watchDeviceLoss(onLost: (message: string) => void): void {
  const device = getTfjsDevice();
  if (device === null) return;
  void device.lost.then((info) => onLost(`GPU device lost (${info.reason}): ${info.message}`));
}

/** tfjs's memory counters, with the GPU bytes of whichever GPU backend is active. */
export function memoryStats(): { tensors: number; bytes: number; gpuBytes: number } {
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
  const gpuBytes =
    typeof m.numBytesInGPU === 'number' && Number.isFinite(m.numBytesInGPU) ? m.numBytesInGPU : 0;
  return { tensors: m.numTensors, bytes: m.numBytes, gpuBytes };
}
