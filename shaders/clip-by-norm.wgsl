// clip-by-norm.wgsl: scales a vector in place so that its L2 norm is at most max_norm, reading the
// norm from a GPU buffer (written by reduce.wgsl, OP 0) so that it never travels to the CPU:
//
//   x[i] = x[i] * (max_norm / norm)     when norm > max_norm and norm is finite; else unchanged
//
// A non-finite norm leaves x alone: scaling by max_norm / Inf would zero it, by NaN poison it;
// callers find non-finite gradients with the non-finite count (reduce.wgsl, OP 2) instead.
//
// Bindings (group 0)
//   @binding(0)  params  uniform                Params (bound with a dynamic offset)
//   @binding(1)  x       storage, read_write    array<vec4<f32>>  the bound chunk, scaled in place
//   @binding(2)  norm    storage, read          array<f32>  norm[0] is ‖x‖
// Overrides
//   WORKGROUP_SIZE: u32 = 256                   1-D workgroups of this many invocations
// Entry point
//   main: one invocation per quad of four elements, on a 2-D grid of workgroups (see mix.wgsl
//         for the index). The host runs a length's last 1..3 elements as one padded quad.

struct Params {
  base: u32,       // first quad of this dispatch, relative to the bound chunk
  count: u32,      // quads this dispatch covers
  _pad0: u32,
  _pad1: u32,
  max_norm: f32,
  _pad2: f32,
  _pad3: f32,
  _pad4: f32,
}

override WORKGROUP_SIZE: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> norm: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
) {
  let local = gid.y * (groups.x * WORKGROUP_SIZE) + gid.x;
  if (local >= params.count) {
    return;
  }
  let n = norm[0];
  let finite = (bitcast<u32>(n) & 0x7f800000u) != 0x7f800000u;
  if (!finite || !(n > params.max_norm)) {
    return;
  }
  let i = params.base + local;
  x[i] = x[i] * (params.max_norm / n);
}
