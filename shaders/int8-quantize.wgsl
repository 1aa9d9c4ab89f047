// int8-quantize.wgsl: block-wise symmetric int8 quantisation with an error-feedback residual.
// For each block of BLOCK_SIZE elements (the last block may be shorter):
//
//   y[i]     = x[i] + r[i]                        (r[i] = 0 without error feedback)
//   scale    = max |y[i]| / 127 over finite y     (0 when that max is < 1.5e-36 ≈ 127 · 2^-126)
//   q[i]     = clamp(round(y[i] / scale), -127, 127)   round half to even; 0 if y[i] is not
//                                                 finite or scale is 0
//   r'[i]    = y[i] - q[i] · scale                (so decoded + r' = y up to f32 rounding)
//
// Non-finite values are never sent: they quantise to 0 and stay in the residual, where the
// caller's non-finite count finds them. The tiny-max rule keeps scale a normal f32, so that
// y / scale stays finite on GPUs that flush subnormals to zero.
//
// Output layout: q as int8 two's complement, four to a u32 word, element 4w + j in byte j (the
// words read as an Int8Array on little-endian hosts); one f32 scale per block.
//
// Bindings (group 0; binding 0 is Params, see common.wgsl)
//   @binding(1)  x         storage, read         array<f32>  the bound chunk
//   @binding(2)  residual  storage, read_write   array<f32>  the matching chunk (or a dummy)
//   @binding(3)  packed    storage, read_write   array<u32>  the matching chunk, n / 4 words
//   @binding(4)  scales    storage, read_write   array<f32>  the matching chunk, one per block
// Overrides
//   WORKGROUP_SIZE                               a power of two (the host uses 64, 16 on CPU-emulated GPUs)
//   BLOCK_SIZE: u32 = 256                        a multiple of 4; chunks start on block bounds
// Entry point
//   main: each workgroup quantises blocks_per_group consecutive blocks, one after the other, on a
//         2-D grid; a block is cached in workgroup memory so that x and r are read once. (The
//         host uses one block per workgroup on GPUs, many where a GPU is emulated on the CPU.)

override BLOCK_SIZE: u32 = 256u;

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> residual: array<f32>;
@group(0) @binding(3) var<storage, read_write> packed: array<u32>;
@group(0) @binding(4) var<storage, read_write> scales: array<f32>;

var<workgroup> block_values: array<vec4<f32>, BLOCK_SIZE / 4u>;
var<workgroup> block_max: array<f32, WORKGROUP_SIZE>;

const MIN_MAX: f32 = 1.5e-36;  // a little above 127 · 2^-126, so scale ≥ 2^-126 (a normal f32)

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, wg: WorkgroupInvocation) {
  let group = flat_group(wg);
  for (var block = 0u; block < params.blocks_per_group; block++) {
    let first = (group * params.blocks_per_group + block) * BLOCK_SIZE;
    // Whole workgroups leave together, so the barriers below stay in uniform control flow.
    if (first >= params.count) { return; }
    let n = min(BLOCK_SIZE, params.count - first);
    let words = (n + 3u) / 4u;
    let start = params.base + first;

    var local_max = 0.0;
    for (var w = lid.x; w < words; w += WORKGROUP_SIZE) {
      var y = vec4<f32>(0.0);
      for (var j = 0u; j < 4u; j++) {
        let e = 4u * w + j;
        if (e < n) {
          var v = x[start + e];
          if (params.use_residual != 0u) {
            v = v + residual[start + e];
          }
          y[j] = v;
          if (is_finite(v)) {
            local_max = max(local_max, abs(v));
          }
        }
      }
      block_values[w] = y;
    }
    block_max[lid.x] = local_max;
    workgroupBarrier();
    // 16 to 1 per round (as in reduce.wgsl): fewer barriers than a binary tree.
    for (var step = 1u; step < WORKGROUP_SIZE; step = step * 16u) {
      let first = lid.x * 16u * step;
      if (first < WORKGROUP_SIZE) {
        var m = block_max[first];
        for (var j = first + step; j < min(first + 16u * step, WORKGROUP_SIZE); j += step) {
          m = max(m, block_max[j]);
        }
        block_max[first] = m;
      }
      workgroupBarrier();
    }
    let max_abs = block_max[0];
    let scale = select(max_abs / 127.0, 0.0, max_abs < MIN_MAX);
    if (lid.x == 0u) {
      scales[start / BLOCK_SIZE] = scale;
    }

    for (var w = lid.x; w < words; w += WORKGROUP_SIZE) {
      let y = block_values[w];
      var word = 0u;
      for (var j = 0u; j < 4u; j++) {
        let e = 4u * w + j;
        if (e < n) {
          let v = y[j];
          var q = 0.0;
          if (scale > 0.0 && is_finite(v)) {
            q = clamp(round(v / scale), -127.0, 127.0);
          }
          word = word | ((bitcast<u32>(i32(q)) & 0xffu) << (8u * j));
          if (params.use_residual != 0u) {
            residual[start + e] = v - q * scale;
          }
        }
      }
      packed[start / 4u + w] = word;
    }
    // The next block reuses block_values and block_max.
    workgroupBarrier();
  }
}
