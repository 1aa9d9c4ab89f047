// common.wgsl: what every kernel shares. The loader (packages/kernels/src/any/shader-sources.ts)
// puts this header in front of each shaders/<kernel>.wgsl, with the kernel's `struct Params`
// (generated from its uniform declaration in kernel-shaders.ts) between the two.
//
// Bindings (group 0)
//   @binding(0)     params  uniform   Params: one 256-byte slot per dispatch, bound with a dynamic
//                                     offset, so a batch of dispatches shares one uniform buffer
//   @binding(1..n)  the kernel's storage buffers, declared in its own file in order; the host
//                   reads their access (read or read_write) from those declarations
// Overrides
//   WORKGROUP_SIZE: u32 = 256         invocations per 1-D workgroup; the host sets it per pipeline
//
// Why 2-D grids: a dispatch may have at most maxComputeWorkgroupsPerDimension (>= 65,535)
// workgroups per dimension, so long vectors spread over y; flat_index is the invocation's place
// in the row-major grid, y * (groups in x * WORKGROUP_SIZE) + x, and the host keeps
// x * y * WORKGROUP_SIZE far below 2^32. The grid is rounded up to whole workgroups (and to a
// rectangle in 2-D), so kernels drop invocations past their count.
// Why `base` and `count` in most Params: the host binds a chunk of each buffer (bindings are
// capped at maxStorageBufferBindingSize) and may need several dispatches per chunk; each dispatch
// covers [base, base + count) of the bound chunk and must not touch the next dispatch's range.
// Why non-finite values are classified by their bits: WGSL lets an implementation assume that no
// NaN or infinity occurs, so comparisons are not a reliable test; the bit pattern is.

@group(0) @binding(0) var<uniform> params: Params;

override WORKGROUP_SIZE: u32 = 256u;

// The builtins of a kernel whose invocations each take one item: `fn main(grid: GridInvocation)`.
struct GridInvocation {
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
}

// Index of this invocation in a 2-D grid of 1-D workgroups.
fn flat_index(grid: GridInvocation) -> u32 {
  return grid.gid.y * (grid.groups.x * WORKGROUP_SIZE) + grid.gid.x;
}

const NO_ITEM: u32 = 0xffffffffu;

// The item base + flat_index(grid) of this invocation, or NO_ITEM for the invocations past
// `count` that rounding the grid up to whole workgroups (and to a rectangle) adds.
fn item_index(grid: GridInvocation, base: u32, count: u32) -> u32 {
  let local = flat_index(grid);
  return select(base + local, NO_ITEM, local >= count);
}

// The builtins of a kernel whose workgroups take whole blocks or tiles, beside its
// local_invocation_id: uniform across a workgroup, so control flow they decide stays uniform
// around barriers.
struct WorkgroupInvocation {
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
}

// Index of this workgroup in a 2-D grid.
fn flat_group(wg: WorkgroupInvocation) -> u32 {
  return wg.wid.y * wg.groups.x + wg.wid.x;
}

const EXPONENT_MASK: u32 = 0x7f800000u;
const MANTISSA_MASK: u32 = 0x007fffffu;

fn is_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & EXPONENT_MASK) != EXPONENT_MASK;
}

fn is_nan(x: f32) -> bool {
  let bits = bitcast<u32>(x);
  return (bits & EXPONENT_MASK) == EXPONENT_MASK && (bits & MANTISSA_MASK) != 0u;
}

// Orders finite values by magnitude as u32 (|y|'s bits); NaN and ±Inf map to 0, like zeros, so
// that the top-k kernels never select them.
fn magnitude_key(y: f32) -> u32 {
  return select(bitcast<u32>(y) & 0x7fffffffu, 0u, !is_finite(y));
}
