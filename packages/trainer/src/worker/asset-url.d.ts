/** Vite's `?url` imports (worker/wasm-files.ts): the emitted asset's URL. */
declare module '*.wasm?url' {
  const url: string;
  export default url;
}
