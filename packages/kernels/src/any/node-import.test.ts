// @tabswarm/kernels in plain Node, without Vite: a child `node --import tsx` imports the reference
// entry and the main entry (WGSL sources read from shaders/ by the `node` condition of
// #wgsl-sources) and reports what it found.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

const SCRIPT = `
const reference = await import('@tabswarm/kernels/reference');
const kernels = await import('@tabswarm/kernels');
const shaders = Object.values(kernels.KERNEL_SHADERS);
const out = {
  norm: reference.l2NormReference(new Float32Array([3, 4])),
  mix: Array.from(reference.mixReference([new Float32Array([1, 2]), new Float32Array([3, 5])], [0.5, 2])),
  mainHasReferences: kernels.l2NormReference === reference.l2NormReference,
  shaders: shaders.length,
  composed: shaders.every(
    (s) => s.source.startsWith(kernels.COMMON_WGSL) && s.source.includes(s.uniforms.wgsl) && s.source.includes('fn main('),
  ),
  header: kernels.COMMON_WGSL.includes('fn flat_index('),
  adamParams: kernels.KERNEL_SHADERS.adam.uniforms.wgsl,
};
process.stdout.write(JSON.stringify(out));
`;

it('loads the reference and main entries in plain Node, WGSL sources included', () => {
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], {
    cwd: ROOT,
    encoding: 'utf8',
    // Only the JSON line: tfjs prints advice about tfjs-node on stderr.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = JSON.parse(stdout) as Record<string, unknown>;
  expect(out).toMatchObject({
    norm: 5,
    mix: [0.5 + 6, 1 + 10],
    mainHasReferences: true,
    shaders: 15,
    composed: true,
    header: true,
  });
  expect(out.adamParams).toMatch(/^struct Params \{\n {2}base: u32,\n {2}count: u32,\n {2}neg_lr: f32,/);
}, 60_000);

/** Pure rules the references share with the coordinator (no tfjs behind them). */
const SHARED_RULES = ['@tabswarm/core/contribution'];

it('the reference entry needs no GPU, no TensorFlow.js and no WGSL: it imports only its own folder', () => {
  const seen = new Set<string>();
  const outside: string[] = [];
  const visit = (url: URL) => {
    if (seen.has(url.href)) return;
    seen.add(url.href);
    const text = readFileSync(url, 'utf8');
    for (const [, specifier] of text.matchAll(/^(?:import|export)[^'"]*from '([^']+)';/gm)) {
      if (specifier?.startsWith('./')) visit(new URL(specifier, url));
      else if (!SHARED_RULES.includes(specifier ?? ''))
        outside.push(`${url.pathname.split('/').pop()}: ${specifier}`);
    }
  };
  visit(new URL('./reference.ts', import.meta.url));
  expect(seen.size).toBeGreaterThan(5);
  expect(outside).toEqual([]);
});
