// clip-by-norm.wgsl: scales a vector in place so that its L2 norm is at most max_norm, reading the
// norm from a GPU buffer (written by reduce.wgsl, OP 0) so that it never travels to the CPU:
//
//   x[i] = x[i] * (max_norm / norm)     when norm > max_norm and norm is finite; else unchanged
//
// A non-finite norm leaves x alone: scaling by max_norm / Inf would zero it, by NaN poison it;
// callers find non-finite gradients with the non-finite count (reduce.wgsl, OP 2) instead.
//
// Bindings (group 0; binding 0 is Params, see common.wgsl)
//   @binding(1)  x       storage, read_write    array<vec4<f32>>  the bound chunk, scaled in place
//   @binding(2)  norm    storage, read          array<f32>  norm[0] is ‖x‖
// Entry point
//   main: one invocation per quad of four elements, on a 2-D grid of workgroups (see common.wgsl
//         for the index). The host runs a length's last 1..3 elements as one padded quad.

@group(0) @binding(1) var<storage, read_write> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> norm: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(grid: GridInvocation) {
  let i = item_index(grid, params.base, params.count);
  let n = norm[0];
  if (i == NO_ITEM || !is_finite(n) || !(n > params.max_norm)) { return; }
  x[i] = x[i] * (params.max_norm / n);
}
