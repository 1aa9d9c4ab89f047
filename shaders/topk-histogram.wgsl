// topk-histogram.wgsl: one digit of the radix select that finds the k-th largest magnitude for
// top-k sparsification (topk-select.wgsl reads the histogram). Magnitudes are ordered by key:
//
//   magnitude_key(y) = bits(y) & 0x7fffffff   for finite y: as u32, ordered like |y|
//   magnitude_key(y) = 0                      for NaN and ±Inf: never selected, they stay in the residual
//
// Digit d (0..3) counts keys by bits [24 - 8d, 32 - 8d) among the keys whose higher digits equal
// the prefix chosen so far (state[0]). Digit 0 also forms y: with error feedback (mode 1) it
// writes r = x + r, without (mode 2) r = x, so later passes and the compaction read y from r.
//
// Bindings (group 0; binding 0 is Params, see common.wgsl)
//   @binding(1)  x         storage, read         array<f32>  the bound chunk of the input
//   @binding(2)  residual  storage, read_write   array<f32>  the matching chunk of r (holds y)
//   @binding(3)  state     storage, read         array<u32>  [0]: prefix of the selected key
//   @binding(4)  hist      storage, read_write   array<atomic<u32>, 256>  zeroed before digit 0
// Overrides
//   WORKGROUP_SIZE: u32 = 256, ITEMS: u32 = 4    a workgroup covers a tile of WORKGROUP_SIZE·ITEMS
// Entry point
//   main: each workgroup counts tiles_per_group consecutive tiles, on a 2-D grid; counts in
//         workgroup memory, then one global atomic add per non-empty bin.

override ITEMS: u32 = 4u;

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> residual: array<f32>;
@group(0) @binding(3) var<storage, read> state: array<u32>;
@group(0) @binding(4) var<storage, read_write> hist: array<atomic<u32>, 256>;

var<workgroup> local_hist: array<atomic<u32>, 256>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, wg: WorkgroupInvocation) {
  for (var b = lid.x; b < 256u; b += WORKGROUP_SIZE) {
    atomicStore(&local_hist[b], 0u);
  }
  workgroupBarrier();
  let span = WORKGROUP_SIZE * ITEMS * params.tiles_per_group;
  let first = flat_group(wg) * span;
  let digit = params.digit;
  let shift = 24u - 8u * digit;
  // Digit 0 matches every key; a shift by 32 would wrap in WGSL, hence the branch.
  var prefix = 0u;
  if (digit > 0u) {
    prefix = state[0] >> (shift + 8u);
  }
  if (first < params.count) {
    let last = min(first + span, params.count);
    for (var e = first + lid.x; e < last; e += WORKGROUP_SIZE) {
      let i = params.base + e;
      var y: f32;
      if (digit == 0u && params.mode == 1u) {
        y = x[i] + residual[i];
        residual[i] = y;
      } else if (digit == 0u && params.mode == 2u) {
        y = x[i];
        residual[i] = y;
      } else {
        y = residual[i];
      }
      let k = magnitude_key(y);
      if (digit == 0u || (k >> (shift + 8u)) == prefix) {
        atomicAdd(&local_hist[(k >> shift) & 0xffu], 1u);
      }
    }
  }
  workgroupBarrier();
  for (var b = lid.x; b < 256u; b += WORKGROUP_SIZE) {
    let c = atomicLoad(&local_hist[b]);
    if (c > 0u) {
      atomicAdd(&hist[b], c);
    }
  }
}
