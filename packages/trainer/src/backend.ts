/**
 * Starts TensorFlow.js on the best backend this context has — WebGPU, then WebGL, WASM, CPU — and
 * says why it fell back. Works on a page and in a dedicated worker (WebGL there needs
 * OffscreenCanvas, which Chromium has).
 */
import * as tf from '@tensorflow/tfjs';
import type { AdapterInfo, Backend } from '@tabswarm/protocol';
import { getTfjsDevice } from '@tabswarm/kernels';
import { errorText } from './errors.ts';
import type { BackendInfo, StartOptions } from './types.ts';

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

async function trySetBackend(name: Backend, reasons: string[]): Promise<boolean> {
  if (tf.findBackendFactory(name) === null) {
    reasons.push(
      name === 'wasm'
        ? 'wasm: @tensorflow/tfjs-backend-wasm is not installed'
        : `${name}: not registered with TensorFlow.js`,
    );
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

/** Starts the best backend; throws when not even the CPU backend starts. */
export async function startBackend(options: Pick<StartOptions, 'avoidWebGpu'> = {}): Promise<BackendInfo> {
  const reasons: string[] = [];
  const probe = await probeWebGpu();
  if (options.avoidWebGpu !== undefined) {
    reasons.push(`webgpu: ${options.avoidWebGpu}`);
  } else if (probe.adapter === null) {
    reasons.push(`webgpu: ${probe.reason ?? 'no adapter'}`);
  } else {
    await import('@tensorflow/tfjs-backend-webgpu');
    if (await trySetBackend('webgpu', reasons)) {
      return { backend: 'webgpu', fallbackReason: null, adapter: probe.adapter };
    }
  }
  for (const name of ['webgl', 'wasm', 'cpu'] as const) {
    if (await trySetBackend(name, reasons)) {
      return { backend: name, fallbackReason: reasons.join('; ').slice(0, 512), adapter: probe.adapter };
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
