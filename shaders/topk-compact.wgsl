// topk-compact.wgsl: writes the selected (index, value) pairs in index order and zeroes their
// residual entries, so that scattering the pairs back and adding the residual gives y exactly.
// An element is selected when magnitude_key(y) > T, or magnitude_key(y) == T > 0 and it is among the first `ties`
// such elements in index order (state from topk-select.wgsl, tile prefixes from topk-scan.wgsl).
//
// Bindings (group 0; binding 0 is Params, see common.wgsl)
//   @binding(1)  residual     storage, read_write  array<f32>  the bound chunk of y / r'
//   @binding(2)  state        storage, read        array<u32>  [0] = T, [1] = ties wanted
//   @binding(3)  tile_counts  storage, read        array<vec2<u32>>  exclusive prefixes
//   @binding(4)  indices      storage, read_write  array<u32>  k slots (global element indices)
//   @binding(5)  values       storage, read_write  array<f32>  k slots
// Overrides
//   WORKGROUP_SIZE: u32 = 256, ITEMS: u32 = 4    as topk-count.wgsl; WORKGROUP_SIZE a power of two
// Entry point
//   main: each workgroup compacts tiles_per_group consecutive tiles, one after the other, on a
//         2-D grid; in a tile, invocation t owns ITEMS consecutive elements and a workgroup scan
//         of the per-invocation counts orders them.

override ITEMS: u32 = 4u;

@group(0) @binding(1) var<storage, read_write> residual: array<f32>;
@group(0) @binding(2) var<storage, read> state: array<u32>;
@group(0) @binding(3) var<storage, read> tile_counts: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read_write> indices: array<u32>;
@group(0) @binding(5) var<storage, read_write> values: array<f32>;

var<workgroup> scan: array<vec2<u32>, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, wg: WorkgroupInvocation) {
  let t = lid.x;
  let group = flat_group(wg);
  let threshold = state[0];
  let ties = state[1];
  for (var tile = 0u; tile < params.tiles_per_group; tile++) {
    let tile_index = group * params.tiles_per_group + tile;
    let first = tile_index * WORKGROUP_SIZE * ITEMS;
    // Whole workgroups leave together, so the barriers stay in uniform control flow.
    if (first >= params.count) { return; }
    let own = first + t * ITEMS;
    var mine = vec2<u32>(0u);
    for (var item = 0u; item < ITEMS; item++) {
      let e = own + item;
      if (e < params.count) {
        let k = magnitude_key(residual[params.base + e]);
        if (k > threshold) {
          mine.x++;
        } else if (k == threshold && threshold > 0u) {
          mine.y++;
        }
      }
    }
    scan[t] = mine;
    workgroupBarrier();
    for (var offset = 1u; offset < WORKGROUP_SIZE; offset = offset * 2u) {
      var add = vec2<u32>(0u);
      if (t >= offset) {
        add = scan[t - offset];
      }
      workgroupBarrier();
      scan[t] += add;
      workgroupBarrier();
    }
    // Counts of greater and tied elements before this invocation's first, over the whole vector.
    var before = tile_counts[params.tile_base + tile_index] + scan[t] - mine;
    // The next tile overwrites scan only after everyone has read it.
    workgroupBarrier();
    for (var item = 0u; item < ITEMS && mine.x + mine.y > 0u; item++) {
      let e = own + item;
      if (e < params.count) {
        let i = params.base + e;
        let y = residual[i];
        let k = magnitude_key(y);
        var slot = 0xffffffffu;
        if (k > threshold) {
          slot = before.x + min(before.y, ties);
          before.x++;
        } else if (k == threshold && threshold > 0u) {
          if (before.y < ties) {
            slot = before.x + before.y;
          }
          before.y++;
        }
        if (slot != 0xffffffffu) {
          indices[slot] = params.chunk_start + i;
          values[slot] = y;
          residual[i] = 0.0;
        }
      }
    }
  }
}
