// topk-scan.wgsl: exclusive prefix sums over the per-tile (greater, equal) counts of
// topk-count.wgsl, in place, so that topk-compact.wgsl knows where each tile's pairs go; also
// writes the number of pairs to state[3] and fills the unused output slots [count, k) with the
// sentinel pair (index 0xffffffff, value 0), which the scatter-add ignores.
//
//   count = greater + min(equal, ties wanted)   (= min(k, number of finite non-zero values))
//
// Bindings (group 0; binding 0 is Params, see common.wgsl)
//   @binding(1)  tile_counts  storage, read_write  array<vec2<u32>>  counts in, prefixes out
//   @binding(2)  state        storage, read_write  array<u32, 4>
//   @binding(3)  indices      storage, read_write  array<u32>  k slots
//   @binding(4)  values       storage, read_write  array<f32>  k slots
// Overrides
//   WORKGROUP_SIZE: u32 = 256                    a power of two
// Entry point
//   main: a single workgroup; invocation t scans a contiguous run of tiles serially, the runs'
//         totals are scanned across the workgroup.

@group(0) @binding(1) var<storage, read_write> tile_counts: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> state: array<u32, 4>;
@group(0) @binding(3) var<storage, read_write> indices: array<u32>;
@group(0) @binding(4) var<storage, read_write> values: array<f32>;

var<workgroup> sums: array<vec2<u32>, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let per = (params.tiles + WORKGROUP_SIZE - 1u) / WORKGROUP_SIZE;
  let begin = min(t * per, params.tiles);
  let end = min(begin + per, params.tiles);
  var run = vec2<u32>(0u);
  for (var i = begin; i < end; i++) {
    run += tile_counts[i];
  }
  sums[t] = run;
  workgroupBarrier();
  // Hillis–Steele inclusive scan of the runs' totals.
  for (var offset = 1u; offset < WORKGROUP_SIZE; offset = offset * 2u) {
    var add = vec2<u32>(0u);
    if (t >= offset) {
      add = sums[t - offset];
    }
    workgroupBarrier();
    sums[t] += add;
    workgroupBarrier();
  }
  var prefix = sums[t] - run;
  for (var i = begin; i < end; i++) {
    let c = tile_counts[i];
    tile_counts[i] = prefix;
    prefix += c;
  }
  let total = sums[WORKGROUP_SIZE - 1u];
  let threshold = state[0];
  let ties = state[1];
  var count = total.x;
  if (threshold > 0u) {
    count += min(total.y, ties);
  }
  // Every invocation has read state above; only now may one of them write it.
  workgroupBarrier();
  if (t == 0u) {
    state[3] = count;
  }
  for (var j = count + t; j < params.k; j += WORKGROUP_SIZE) {
    indices[j] = 0xffffffffu;
    values[j] = 0.0;
  }
}
