// The shader loader: every kernel is the common header, its generated Params and its own file,
// and the host's binding list is read from the shader's declarations.
import { describe, expect, it } from 'vitest';
import { KERNEL_SHADERS } from './kernel-shaders.ts';
import { COMMON_WGSL, sourceLocation, storageBindings, wgslFile } from './shader-sources.ts';
import { wgslFiles } from './wgsl-sources-node.ts';

const kernels = Object.values(KERNEL_SHADERS);

describe('the shader loader', () => {
  it('has a kernel for every shaders/*.wgsl but the header, and a file for every kernel', () => {
    const files = Object.keys(wgslFiles).filter((name) => name !== 'common');
    expect(kernels.map((k) => k.name).sort()).toEqual(files.sort());
    expect(kernels).toHaveLength(15);
  });

  it('composes header, Params and kernel, in that order', () => {
    expect(COMMON_WGSL).toContain('override WORKGROUP_SIZE');
    expect(COMMON_WGSL).toContain('@group(0) @binding(0) var<uniform> params: Params;');
    for (const k of kernels) {
      const at = (text: string) => k.source.indexOf(text);
      expect(k.source.startsWith(COMMON_WGSL), k.name).toBe(true);
      expect(at(k.uniforms.wgsl), k.name).toBeGreaterThan(COMMON_WGSL.length - 1);
      expect(k.source.endsWith(wgslFile(k.name)), k.name).toBe(true);
    }
  });

  it('leaves to the header what every kernel shares', () => {
    for (const k of kernels) {
      const own = wgslFile(k.name);
      expect(own, k.name).not.toMatch(/struct Params|override WORKGROUP_SIZE|@binding\(0\)/);
      expect(own, k.name).not.toMatch(/gid\.y \* \(groups\.x/);
      expect(own, k.name).not.toMatch(/fn (is_finite|is_nan|key)\(/);
    }
  });

  it('reads each kernel’s storage bindings from its declarations', () => {
    expect(KERNEL_SHADERS.adam.storage).toEqual(['read_write', 'read_write', 'read_write', 'read']);
    expect(KERNEL_SHADERS.mix.storage).toEqual(['read_write', ...Array<string>(7).fill('read')]);
    expect(KERNEL_SHADERS.topkSelect.storage).toEqual(['read_write', 'read_write']);
    const two =
      '@group(0) @binding(1) var<storage, read> a: array<f32>;\n@group(0) @binding(3) var<storage, read_write> b: array<f32>;';
    expect(() => storageBindings(two, 'gap')).toThrow(/gap: expected storage @binding\(2\)/);
    expect(() => storageBindings('@group(0) @binding(1) var<uniform> p: P;', 'u')).toThrow(
      /expected storage/,
    );
  });
});

describe('sourceLocation', () => {
  it('maps a line of the composed source back to the file it came from', () => {
    const shader = KERNEL_SHADERS.adam;
    const lines = shader.source.split('\n');
    const own = wgslFile('adam').split('\n');
    const mainLine = own.findIndex((l) => l.startsWith('fn main(')) + 1;
    const composedMain = lines.findIndex((l) => l.startsWith('fn main(')) + 1;
    expect(sourceLocation(shader, composedMain)).toBe(`shaders/adam.wgsl:${mainLine}`);
    const headerLine = COMMON_WGSL.split('\n').findIndex((l) => l.startsWith('fn flat_index(')) + 1;
    expect(sourceLocation(shader, lines.indexOf(lines[headerLine - 1] as string) + 1)).toBe(
      `shaders/common.wgsl:${headerLine}`,
    );
    expect(sourceLocation(shader, lines.indexOf('struct Params {') + 1)).toBe('adam Params (generated)');
  });
});
