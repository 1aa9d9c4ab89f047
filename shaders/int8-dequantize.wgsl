// int8-dequantize.wgsl: decodes int8-quantize.wgsl's output: out[i] = q[i] · scale[i / BLOCK_SIZE].
//
// Bindings (group 0; binding 0 is Params, see common.wgsl)
//   @binding(1)  packed  storage, read          array<u32>  the bound chunk, four int8 per word
//   @binding(2)  scales  storage, read          array<f32>  the matching chunk, one per block
//   @binding(3)  out     storage, read_write    array<f32>  the matching chunk
// Overrides
//   BLOCK_SIZE: u32 = 256                       as when quantising; a multiple of 4
// Entry point
//   main: one invocation per word (four elements, all in one block), on a 2-D grid

override BLOCK_SIZE: u32 = 256u;

@group(0) @binding(1) var<storage, read> packed: array<u32>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(grid: GridInvocation) {
  let local = flat_index(grid);
  if (4u * local >= params.count) { return; }
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
