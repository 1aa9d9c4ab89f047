// The roofline's reference: a plain copy, N floats read and N written as vec4, one invocation per
// quad on a 2-D grid of workgroups (the library's kernels' shape, see shaders/common.wgsl). What a
// memory-bound kernel can reach on this adapter is what this reaches. It lives with the benchmark
// page, not in shaders/: no kernel of the library uses it.
//
// Why no grid-stride loop: on a GPU emulated on the CPU (SwiftShader) a loop per invocation ran
// at half the speed of one quad per invocation; GPUs do not mind either way.
override WORKGROUP_SIZE: u32 = 256u;

struct Params {
  // Vectors of 4 floats to copy.
  count4: u32,
  // Invocations in one row of the grid: groups in x times WORKGROUP_SIZE.
  row: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.y * params.row + id.x;
  if (i < params.count4) {
    dst[i] = src[i];
  }
}
