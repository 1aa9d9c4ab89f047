/** Finds out whether this browser has a WebGPU adapter and describes it in the protocol's terms. */
import type { AdapterInfo } from '@tabswarm/protocol';

export interface DeviceReport {
  readonly adapter: AdapterInfo | null;
  /** Why there is no adapter, when there is none. */
  readonly reason: string | null;
}

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

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export async function detectWebGpu(): Promise<DeviceReport> {
  if (!window.isSecureContext) {
    return { adapter: null, reason: 'WebGPU needs a secure context (https, or http://localhost)' };
  }
  const gpu = (navigator as Partial<Navigator>).gpu;
  if (gpu === undefined)
    return { adapter: null, reason: 'this browser has no WebGPU (navigator.gpu is missing)' };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (error) {
    return { adapter: null, reason: `requestAdapter() failed: ${errorText(error)}` };
  }
  if (adapter === null) {
    return {
      adapter: null,
      reason: 'requestAdapter() returned null: WebGPU is disabled or no GPU is usable',
    };
  }
  const limits: Record<string, number> = {};
  for (const name of REPORTED_LIMITS) {
    const value: unknown = adapter.limits[name];
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) limits[name] = value;
  }
  const info = adapter.info;
  return {
    adapter: {
      vendor: clip(info.vendor),
      architecture: clip(info.architecture),
      device: clip(info.device),
      description: clip(info.description),
      // Older Chromium builds expose the flag on the adapter rather than on its info.
      isFallbackAdapter: Boolean(
        (info as Partial<GPUAdapterInfo>).isFallbackAdapter ??
        (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter,
      ),
      limits,
    },
    reason: null,
  };
}
