/**
 * The text of every shaders/*.wgsl file under Vite (the apps, their workers, the bench page,
 * Vitest's browser project): inlined at build time by import.meta.glob. The Node twin is
 * wgsl-sources-node.ts; package.json `imports` picks one for `#wgsl-sources`.
 */
const files = import.meta.glob<string>('../../../../shaders/*.wgsl', {
  query: '?raw',
  import: 'default',
  eager: true,
});

/** File name without `.wgsl` → WGSL text. */
export const wgslFiles: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(files).map(([path, text]) => [path.slice(path.lastIndexOf('/') + 1, -'.wgsl'.length), text]),
);
