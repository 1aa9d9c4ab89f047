// topk-scatter-add.wgsl: decodes sparse (index, value) pairs into a dense vector:
//
//   out[indices[j]] += alpha · values[j]     for every pair whose index falls in the bound chunk
//
// Sentinel pairs (index 0xffffffff) and out-of-range indices are skipped. Indices must be
// distinct (the encoder's are; frames from peers are validated before they get here): two
// invocations adding to one element would race.
//
// Bindings (group 0)
//   @binding(0)  params   uniform                Params (bound with a dynamic offset)
//   @binding(1)  indices  storage, read          array<u32>  all pairs
//   @binding(2)  values   storage, read          array<f32>  all pairs
//   @binding(3)  out      storage, read_write    array<f32>  chunk [out_start, out_start + out_length)
// Overrides
//   WORKGROUP_SIZE: u32 = 256                   1-D workgroups of this many invocations
// Entry point
//   main: one invocation per pair, on a 2-D grid; repeated for each chunk of out

struct Params {
  base: u32,        // first pair of this dispatch
  count: u32,       // pairs this dispatch covers
  out_start: u32,   // global index of the bound chunk's first element
  out_length: u32,  // elements in the bound chunk
  alpha: f32,
  _pad0: f32,
  _pad1: f32,
  _pad2: f32,
}

override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> indices: array<u32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
) {
  let local = gid.y * (groups.x * WORKGROUP_SIZE) + gid.x;
  if (local >= params.count) {
    return;
  }
  let j = params.base + local;
  let index = indices[j];
  if (index < params.out_start || index - params.out_start >= params.out_length) {
    return;
  }
  let o = index - params.out_start;
  out[o] = out[o] + params.alpha * values[j];
}
