// int8-dequantize.wgsl: decodes int8-quantize.wgsl's output: out[i] = q[i] · scale[i / BLOCK_SIZE].
//
// Bindings (group 0)
//   @binding(0)  params  uniform                Params (bound with a dynamic offset)
//   @binding(1)  packed  storage, read          array<u32>  the bound chunk, four int8 per word
//   @binding(2)  scales  storage, read          array<f32>  the matching chunk, one per block
//   @binding(3)  out     storage, read_write    array<f32>  the matching chunk
// Overrides
//   WORKGROUP_SIZE: u32 = 256                   1-D workgroups of this many invocations
//   BLOCK_SIZE: u32 = 256                       as when quantising; a multiple of 4
// Entry point
//   main: one invocation per word (four elements, all in one block), on a 2-D grid

struct Params {
  base: u32,       // first element of this dispatch in the chunk, a multiple of 4
  count: u32,      // elements this dispatch covers
  _pad0: u32,
  _pad1: u32,
}

override WORKGROUP_SIZE: u32 = 256u;
override BLOCK_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> packed: array<u32>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
) {
  let local = gid.y * (groups.x * WORKGROUP_SIZE) + gid.x;
  if (4u * local >= params.count) {
    return;
  }
  let first = params.base + 4u * local;
  let word = packed[first / 4u];
  let scale = scales[first / BLOCK_SIZE];
  let n = min(4u, params.count - 4u * local);
  for (var j = 0u; j < n; j++) {
    // Sign-extend byte j: move it to the top, then shift back arithmetically.
    let q = bitcast<i32>(word << (24u - 8u * j)) >> 24u;
    out[first + j] = f32(q) * scale;
  }
}
