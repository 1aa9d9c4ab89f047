// topk-scatter-add.wgsl: decodes sparse (index, value) pairs into a dense vector:
//
//   out[indices[j]] += alpha · values[j]     for every pair whose index falls in the bound chunk
//
// Sentinel pairs (index 0xffffffff) and out-of-range indices are skipped. Indices must be
// distinct (the encoder's are; frames from peers are validated before they get here): two
// invocations adding to one element would race.
//
// Bindings (group 0; binding 0 is Params, see common.wgsl)
//   @binding(1)  indices  storage, read          array<u32>  all pairs
//   @binding(2)  values   storage, read          array<f32>  all pairs
//   @binding(3)  out      storage, read_write    array<f32>  chunk [out_start, out_start + out_length)
// Entry point
//   main: one invocation per pair, on a 2-D grid; repeated for each chunk of out

@group(0) @binding(1) var<storage, read> indices: array<u32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(grid: GridInvocation) {
  let j = item_index(grid, params.base, params.count);
  if (j == NO_ITEM) { return; }
  let index = indices[j];
  if (index < params.out_start || index - params.out_start >= params.out_length) { return; }
  let o = index - params.out_start;
  out[o] = out[o] + params.alpha * values[j];
}
