/** The typed API the backends benchmark page exposes to its driver (backends-part.ts). */
import type { AdapterInfo, Backend, ModelPreset } from '@tabswarm/protocol';

export interface BackendsOptions {
  readonly presets: readonly ModelPreset[];
  readonly backends: readonly Backend[];
  readonly batchSize: number;
  /** The batch of the language-model presets (windows of 64 characters). */
  readonly textBatchSize: number;
  /** Untimed steps first (shader compilation, tfjs's buffer pools). */
  readonly warmupSteps: number;
  readonly steps: number;
}

export interface BackendStepRow {
  readonly backend: Backend;
  readonly preset: ModelPreset;
  readonly parameters: number;
  readonly batchSize: number;
  /** Milliseconds of each timed step, up to its loss being read back (the device has finished). */
  readonly stepMs: readonly number[];
  /** Why this preset cannot train on this backend (e.g. a gradient kernel tfjs lacks there); null when it ran. */
  readonly error: string | null;
}

export interface BackendsResult {
  readonly rows: readonly BackendStepRow[];
  /** Backends that did not start, with why (e.g. no WebGPU adapter). */
  readonly unavailable: readonly { readonly backend: Backend; readonly reason: string }[];
  readonly adapter: AdapterInfo | null;
  /** tfjs's WebAssembly flavour here: SIMD, threads (threads need a cross-origin-isolated page). */
  readonly wasm: { readonly simd: boolean; readonly threads: boolean } | null;
}

export interface BackendsApi {
  run(options: BackendsOptions): Promise<BackendsResult>;
}

declare global {
  interface Window {
    backendsBench?: BackendsApi;
  }
}
