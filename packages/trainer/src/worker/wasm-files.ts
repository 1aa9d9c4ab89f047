/**
 * The WebAssembly backend's binaries as same-origin URLs: Vite emits each .wasm into the build
 * (hashed, under the app's base) and gives its URL, so nothing is fetched from a CDN. Bundled code
 * only (the `?url` imports need Vite); Node reads the files from node_modules instead.
 */
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { WasmPaths } from '../any/backend.ts';

export const WASM_FILES: WasmPaths = {
  'tfjs-backend-wasm.wasm': wasmUrl,
  'tfjs-backend-wasm-simd.wasm': simdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': threadedSimdUrl,
};
