/**
 * The shader loader: a kernel's WGSL is shaders/common.wgsl, then its `struct Params` generated
 * from its uniform declaration, then its own shaders/<name>.wgsl — a common header composed in
 * front of each program, as tfjs-backend-webgpu's makeShader does. Pure: runs in Node too.
 */
import { wgslFiles } from '#wgsl-sources';
import type { UniformDeclaration, UniformLayout } from './uniforms.ts';

/** How a storage binding is declared in WGSL: var<storage, read> or var<storage, read_write>. */
export type StorageAccess = 'read' | 'read_write';

export interface KernelShader<D extends UniformDeclaration = UniformDeclaration> {
  /** The file shaders/<name>.wgsl; also the kernel's name in labels and cache keys. */
  readonly name: string;
  readonly uniforms: UniformLayout<D>;
  /** The composed WGSL: header, Params, kernel. */
  readonly source: string;
  /** Access of bindings 1..n, read from the kernel's declarations (binding 0 is Params). */
  readonly storage: readonly StorageAccess[];
}

/** The text of shaders/<name>.wgsl as it is on disk. */
export function wgslFile(name: string): string {
  const text = wgslFiles[name];
  if (text === undefined) throw new Error(`no shaders/${name}.wgsl`);
  return text;
}

/** The header every kernel starts with. */
export const COMMON_WGSL = wgslFile('common');

/** The pieces of a composed kernel, in order: what each is and its text. */
function composition(name: string, uniforms: UniformLayout<UniformDeclaration>): [string, string][] {
  return [
    ['shaders/common.wgsl', COMMON_WGSL],
    [
      'generated',
      `// Params of ${name}, from its uniform declaration (packages/kernels/src/any/kernel-shaders.ts)`,
    ],
    ['generated', uniforms.wgsl],
    ['generated', `// ---- shaders/${name}.wgsl`],
    [`shaders/${name}.wgsl`, wgslFile(name)],
  ];
}

export function composeShader(name: string, uniforms: UniformLayout<UniformDeclaration>): string {
  return composition(name, uniforms)
    .map(([, text]) => text)
    .join('\n');
}

/**
 * Where line `line` (1-based, as in GPUCompilationMessage.lineNum) of a composed kernel comes
 * from: `shaders/<file>.wgsl:<line>`, or `<name> Params (generated)` for the struct, so that compilation
 * messages point into the files one edits.
 */
export function sourceLocation(shader: Pick<KernelShader, 'name' | 'uniforms'>, line: number): string {
  let first = 1;
  for (const [file, text] of composition(shader.name, shader.uniforms)) {
    const lines = text.split('\n').length;
    if (line < first + lines)
      return file === 'generated' ? `${shader.name} Params (generated)` : `${file}:${line - first + 1}`;
    first += lines;
  }
  return `${shader.name}:${line}`;
}

const BINDING =
  /@group\(0\)\s*@binding\((\d+)\)\s*var<\s*(uniform|storage)\s*(?:,\s*(read_write|read)\s*)?>/g;

/**
 * The storage access of bindings 1..n declared in `wgsl`, so that the host's bind group layout
 * follows the shader instead of a second list; throws unless they are numbered 1, 2, … in order.
 */
export function storageBindings(wgsl: string, what: string): StorageAccess[] {
  const storage: StorageAccess[] = [];
  for (const m of wgsl.matchAll(BINDING)) {
    const [, binding, space, access] = m;
    if (space !== 'storage' || Number(binding) !== storage.length + 1) {
      throw new Error(`${what}: expected storage @binding(${storage.length + 1}), found ${m[0]}`);
    }
    storage.push(access === 'read_write' ? 'read_write' : 'read');
  }
  return storage;
}

export function kernelShader<const D extends UniformDeclaration>(
  name: string,
  uniforms: UniformLayout<D>,
): KernelShader<D> {
  return {
    name,
    uniforms,
    source: composeShader(name, uniforms),
    storage: storageBindings(wgslFile(name), `shaders/${name}.wgsl`),
  };
}
