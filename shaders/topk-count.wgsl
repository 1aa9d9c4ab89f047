// topk-count.wgsl: per tile, how many keys are greater than the threshold T and how many equal
// it (only when T > 0: zeros and non-finite values, key 0, are never selected). topk-scan.wgsl
// turns these counts into output positions so that pairs come out in index order.
//
// Bindings (group 0; binding 0 is Params, see common.wgsl)
//   @binding(1)  residual     storage, read        array<f32>  the bound chunk of y
//   @binding(2)  state        storage, read        array<u32>  [0] = T
//   @binding(3)  tile_counts  storage, read_write  array<vec2<u32>>  (greater, equal) per tile
// Overrides
//   WORKGROUP_SIZE: u32 = 256, ITEMS: u32 = 4    tiles of WORKGROUP_SIZE·ITEMS, as the histogram
// Entry point
//   main: each workgroup counts tiles_per_group consecutive tiles, one after the other, on a
//         2-D grid

override ITEMS: u32 = 4u;

@group(0) @binding(1) var<storage, read> residual: array<f32>;
@group(0) @binding(2) var<storage, read> state: array<u32>;
@group(0) @binding(3) var<storage, read_write> tile_counts: array<vec2<u32>>;

var<workgroup> greater: atomic<u32>;
var<workgroup> equal: atomic<u32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, wg: WorkgroupInvocation) {
  let group = flat_group(wg);
  for (var t = 0u; t < params.tiles_per_group; t++) {
    let tile_index = group * params.tiles_per_group + t;
    let first = tile_index * WORKGROUP_SIZE * ITEMS;
    // Whole workgroups leave together, so the barriers stay in uniform control flow.
    if (first >= params.count) { return; }
    if (lid.x == 0u) {
      atomicStore(&greater, 0u);
      atomicStore(&equal, 0u);
    }
    workgroupBarrier();
    let threshold = state[0];
    var g = 0u;
    var q = 0u;
    for (var item = 0u; item < ITEMS; item++) {
      let e = first + item * WORKGROUP_SIZE + lid.x;
      if (e < params.count) {
        let k = magnitude_key(residual[params.base + e]);
        if (k > threshold) {
          g++;
        } else if (k == threshold && threshold > 0u) {
          q++;
        }
      }
    }
    if (g > 0u) {
      atomicAdd(&greater, g);
    }
    if (q > 0u) {
      atomicAdd(&equal, q);
    }
    workgroupBarrier();
    if (lid.x == 0u) {
      tile_counts[params.tile_base + tile_index] = vec2<u32>(atomicLoad(&greater), atomicLoad(&equal));
    }
    // The next tile resets the counters only after invocation 0 has read them.
    workgroupBarrier();
  }
}
